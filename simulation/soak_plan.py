"""The chaos soak's journeys and faults, drawn from a seed: plain data, no I/O, so the suite's short soak
(tests/test_soak.py) and the long one (bench/soak.py) share it, and ``--replay S:N`` rebuilds journey N of
seed S alone, exactly as the run drew it (each journey has its own generator, seeded with ``S:N``).

A journey is what one customer does (a path) plus what goes wrong around them (faults at the devices' own
interfaces: the CUPS backend's state, the SANE backend's status, the card in the reader, the switchboard
and broker processes, the agent's end). :data:`NOT_INJECTED` lists the faults the issue asks for that this
machine cannot produce yet at their real interface; they are reported, never imitated.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from etapiste.language import Language

Path_ = Literal["walk_away_before_choosing", "cancel_in_queue", "call"]
CallStep = Literal["text", "identify", "scan", "print", "interpreter"]
CallEnd = Literal["customer_hangs_up", "agent_hangs_up", "walks_away_mid_flow"]

#: Printer faults, as the fault backend's modes (simulation/services/cups.py): paper out, jam, a backend
#: failing mid-job.
PRINTER_FAULTS = {"printer_out_of_paper": "media-empty", "printer_jammed": "media-jam",
                  "printer_backend_failed": "exit:1"}  # fmt: skip
#: Printer faults that stall the job (CUPS stops the queue and keeps it) until the staff clear them.
PRINTER_STALLS = ("printer_out_of_paper", "printer_jammed")
#: Scanner faults, as the SANE test backend's read status after a page (``0``: before the first).
SCANNER_FAULTS = {"scanner_jammed": "SANE_STATUS_JAMMED", "scanner_empty_feeder": "__empty_feeder__",
                  "scanner_cover_open": "SANE_STATUS_COVER_OPEN"}  # fmt: skip
CARD_FAULTS = ("wrong_pin", "card_pulled_mid_pin", "card_pulled_mid_signature")
CALL_FAULTS = ("switchboard_restart", "broker_restart")
#: Faults of the room around the call, drawn after everything else of a journey (so that adding them left the
#: journeys drawn before them as they were): the camera's cable pulled out mid-call (the kiosk's camera reader
#: loses its device; plugged back in after the visit), and a new signed configuration published to the point
#: mid-call (its provisioning agent applies it; the kiosk restarts on it after the visit).
ROOM_FAULTS = ("camera_unplugged", "config_reload")
TRANSFER_FAULTS = ("agent_closes_mid_transfer",)
#: The point's network cut for :data:`NETWORK_CUT_S` seconds mid-call (simulation/netcut.py), drawn last of all.
NETWORK_FAULTS = ("network_cut",)
NETWORK_CUT_S = (1, 70)
FAULT_KINDS = (*PRINTER_FAULTS, *SCANNER_FAULTS, *CARD_FAULTS, *CALL_FAULTS, *ROOM_FAULTS, *TRANSFER_FAULTS,
               *NETWORK_FAULTS)  # fmt: skip

#: Faults of the issue that a run could not inject, and why (the report and docs/reliability.md list them).
NOT_INJECTED = {
    "network_cut": "needs the soak in a network namespace of its own, as root with nftables (bench/soak.py "
                   "enters one; the suite's in-process soak shares the test run's network, so its journeys "
                   "drawn with a cut run without it)",
}


@dataclass(frozen=True)
class StepPlan:
    """One thing the agent asks for in the call, with its size and the fault that meets it (``None``: none)."""

    kind: CallStep
    pages: int = 0
    fault: str | None = None
    customer_cancels: bool = False
    """A printout stalled by the printer (paper out, jam): the customer stops waiting, rather than the host's
    staff clearing the fault so that it prints."""
    fault_at_page: int = 0
    """Scanner faults: after which page the backend fails (the feeder holds ``pages`` sheets; a fault after
    the last one meets the customer's attempt to feed more)."""


@dataclass(frozen=True)
class JourneyPlan:
    seed: int
    index: int
    language: Language
    path: Path_
    steps: tuple[StepPlan, ...] = ()
    end: CallEnd = "customer_hangs_up"
    rating: int | None = None
    """The survey's answer (``None``: skipped; a customer who walks away gives none either)."""
    call_fault: str | None = None
    call_fault_before: int = 0
    """The switchboard or broker restart (or the room's fault) happens before this step of the call
    (``len(steps)``: at the end)."""
    network_cut_s: int = 0
    """How long the point's network stays cut (``call_fault`` ``network_cut``)."""

    @property
    def label(self) -> str:
        return f"{self.seed}:{self.index}"

    @property
    def faults(self) -> list[str]:
        found = [s.fault for s in self.steps if s.fault]
        return found + ([self.call_fault] if self.call_fault else [])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Mix:
    """How often each path and fault is drawn (the suite's short soak and the long run use the defaults)."""

    paths: dict[str, float] = field(default_factory=lambda: {
        "walk_away_before_choosing": 0.08, "cancel_in_queue": 0.12, "call": 0.80})  # fmt: skip
    step_chance: dict[str, float] = field(default_factory=lambda: {
        "text": 0.6, "identify": 0.5, "scan": 0.5, "print": 0.5, "interpreter": 0.12})  # fmt: skip
    fault_chance: float = 0.45
    """Each device step meets a fault with this chance."""
    call_fault_chance: float = 0.12
    room_fault_chance: float = 0.15
    """A call with no switchboard or broker restart meets a room fault (camera unplugged, configuration
    reload) this often."""
    network_cut_chance: float = 0.1
    """A call with no other call fault has its point's network cut this often (for 1–70 s)."""
    ends: dict[str, float] = field(default_factory=lambda: {
        "customer_hangs_up": 0.6, "agent_hangs_up": 0.3, "walks_away_mid_flow": 0.1})  # fmt: skip


def _pick(rng: random.Random, weights: dict[str, float]) -> Any:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def plan_journey(seed: int, index: int, mix: Mix | None = None) -> JourneyPlan:
    """Journey ``index`` of the run with ``seed``: the same plan whatever ran before it."""
    mix = mix or Mix()
    rng = random.Random(f"{seed}:{index}")
    language: Language = rng.choice(("fi", "sv", "en"))
    path: Path_ = _pick(rng, mix.paths)
    if path != "call":
        return JourneyPlan(seed, index, language, path, rating=None)
    kinds: list[CallStep] = [k for k in ("text", "identify", "scan", "print", "interpreter")
                             if rng.random() < mix.step_chance[k]]
    rng.shuffle(kinds)
    steps = []
    for kind in kinds:
        faulty = rng.random() < mix.fault_chance
        if kind == "scan":
            pages = rng.randint(1, 10)
            fault = rng.choice(list(SCANNER_FAULTS)) if faulty else None
            at = 0 if fault in (None, "scanner_empty_feeder") else rng.randint(1, pages)
            steps.append(StepPlan("scan", pages, fault, fault_at_page=at))
        elif kind == "print":
            fault = rng.choice([*PRINTER_FAULTS, *TRANSFER_FAULTS]) if faulty else None
            cancels = fault in PRINTER_STALLS and rng.random() < 0.4
            steps.append(StepPlan("print", rng.randint(1, 5), fault, customer_cancels=cancels))
        elif kind == "identify":
            steps.append(StepPlan("identify", 0, rng.choice(CARD_FAULTS) if faulty else None))
        else:
            steps.append(StepPlan(kind))
    # The agent leaving mid-transfer ends the call: nothing after it happens.
    cut = next((i for i, s in enumerate(steps) if s.fault == "agent_closes_mid_transfer"), None)
    if cut is not None:
        steps = steps[: cut + 1]
    end: CallEnd = _pick(rng, mix.ends)
    if cut is not None:
        end = "agent_hangs_up"
    call_fault = rng.choice(CALL_FAULTS) if rng.random() < mix.call_fault_chance else None
    before = rng.randint(0, len(steps)) if call_fault else 0
    rating = None if end == "walks_away_mid_flow" or rng.random() < 0.2 else rng.randint(1, 5)
    if call_fault is None and rng.random() < mix.room_fault_chance:
        call_fault = rng.choice(ROOM_FAULTS)
        before = rng.randint(0, len(steps))
    cut_s = 0
    if call_fault is None and rng.random() < mix.network_cut_chance:  # drawn last: earlier draws stay as they were
        call_fault, before, cut_s = "network_cut", rng.randint(0, len(steps)), rng.randint(*NETWORK_CUT_S)
    return JourneyPlan(seed, index, language, path, tuple(steps), end, rating, call_fault, before, cut_s)


def parse_replay(text: str) -> tuple[int, int]:
    """``S:N`` → (seed, journey index)."""
    seed, _, index = text.partition(":")
    return int(seed), int(index)
