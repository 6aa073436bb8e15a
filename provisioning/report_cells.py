"""Disclosure control for reports that leave the organiser (docs/statistics.md, "Disclosure control").

Every count of people a report shows is a *cell*; every place where the report shows a total next to
the cells that add up to it is a *group*. With masking on:

1. a cell of 1–4 is shown as ``<5`` (primary suppression). A zero is shown: it points at nobody, and a
   producer needs to see "0 technical failures";
2. then, for as long as any suppressed cell could be worked out from what is shown — it is the only
   unknown of a group (subtraction), or a group's unknowns are all ``<5`` cells whose known sum leaves
   them only one possibility (all ones, or all fours) — one more cell of that group is hidden, shown as
   ``×`` (secondary suppression): the smallest shown non-zero part, else the total. Parts go first
   because the totals (a point's volume) are what a producer reads the report for.

Totals are always computed from the true figures, before masking. Without masking every cell is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SMALL = "<5"
HIDDEN = "×"
THRESHOLD = 5


@dataclass
class Cells:
    mask: bool
    values: dict[str, int] = field(default_factory=dict)
    groups: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    small: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)
    _resolved: bool = False

    def add(self, key: str, value: int) -> str:
        """Register a count shown in the report (the same key twice must carry the same value)."""
        if key in self.values and self.values[key] != value:
            raise ValueError(f"cell {key} registered with {self.values[key]} and {value}")
        self.values[key] = int(value)
        self._resolved = False
        return key

    def group(self, total: str, parts: list[str] | tuple[str, ...]) -> None:
        """``total`` is shown and equals the sum of ``parts`` (each shown too)."""
        if total not in self.values or any(p not in self.values for p in parts):
            raise KeyError(f"group {total}: register its cells first")
        assert self.values[total] == sum(self.values[p] for p in parts), (total, parts)
        self.groups.append((total, tuple(parts)))
        self._resolved = False

    def resolve(self) -> None:
        self.small = {k for k, v in self.values.items() if self.mask and 0 < v < THRESHOLD}
        self.hidden = set()
        if not self.mask:
            self._resolved = True
            return
        for _ in range(10_000):
            leak = self._leaking_group()
            if leak is None:
                break
            self.hidden.add(self._secondary(*leak))
        else:  # pragma: no cover - each round hides one more of finitely many cells
            raise RuntimeError("disclosure control did not settle")
        self._resolved = True

    def _unknown(self, key: str) -> bool:
        return key in self.small or key in self.hidden

    def _leaking_group(self) -> tuple[str, tuple[str, ...]] | None:
        for total, parts in self.groups:
            members = (total, *parts)
            unknown = [k for k in members if self._unknown(k)]
            if len(unknown) == 1:
                return total, parts
            if total in unknown or not unknown:
                continue
            if all(k in self.small and k not in self.hidden for k in unknown):
                rest = self.values[total] - sum(self.values[p] for p in parts if not self._unknown(p))
                if rest in (len(unknown), (THRESHOLD - 1) * len(unknown)):
                    return total, parts
        return None

    def _secondary(self, total: str, parts: tuple[str, ...]) -> str:
        shown = [p for p in parts if not self._unknown(p) and self.values[p] > 0]
        if shown:
            return min(shown, key=lambda p: (self.values[p], p))
        if not self._unknown(total):
            return total
        # Everything non-zero is unknown already, yet the group leaks (the all-ones/all-fours case with the
        # total hidden cannot happen); hide a zero part so the group has two unknowns.
        zeros = [p for p in parts if not self._unknown(p)]
        return zeros[0]

    def known(self, key: str) -> bool:
        self._check()
        return not self._unknown(key)

    def show(self, key: str) -> str:
        """The cell as the report prints it: a number with a thin space per thousand, ``<5`` or ``×``."""
        self._check()
        if key in self.hidden:
            return HIDDEN
        if key in self.small:
            return SMALL
        return f"{self.values[key]:,}".replace(",", "\u202f")

    def raw(self, key: str) -> str:
        """The cell for the CSV: the number, ``<5`` or ``×``."""
        self._check()
        if key in self.hidden:
            return HIDDEN
        if key in self.small:
            return SMALL
        return str(self.values[key])

    def value(self, key: str) -> int | None:
        """The number if the report may show it, else ``None``."""
        return self.values[key] if self.known(key) else None

    def _check(self) -> None:
        if not self._resolved:
            self.resolve()
