"""The organiser's description of the fleet, in layers: fleet defaults → group → point.

A fleet directory holds::

    defaults.yaml            what every point shares (support desk, producers, devices, UI…)
    groups/<group>.yaml      what a group of points shares (a region's switchboard, TURN, hours…)
    points/<point-id>.yaml   one point: at least ``point: {id, group}``, its host and staff PIN hash

Layers are merged key by key: a mapping in a later layer updates the earlier one field by field; any
other value (a list, a string, ``null``) replaces it whole — so a point listing ``producers`` offers
exactly those. The ops tool resolves one point's layers into the document the schema validates and
the bundle carries. Every problem names the file and line where the offending value was written (the
layer that won), the field, and what would be valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from etapiste.config.loader import ConfigError, ConfigProblem, describe_error, parse_yaml, read_text, record_lines
from etapiste.config.point import PointConfig

Path_ = tuple[str, ...]
Origins = dict[Path_, tuple[str, int | None]]


@dataclass(frozen=True)
class Layer:
    """One YAML file of the fleet, parsed, with the line of every value."""

    file: str
    data: dict[str, Any]
    lines: dict[Path_, int]

    @classmethod
    def read(cls, path: Path) -> Layer:
        return cls.parse(read_text(path), str(path))

    @classmethod
    def parse(cls, text: str, file: str) -> Layer:
        node, data = parse_yaml(text, file)
        if data is None:
            return cls(file, {}, {})
        if not isinstance(data, dict) or node is None:
            raise ConfigError([ConfigProblem(file, 1, "", "the file must be a mapping of sections (host, devices, …)")])
        lines: dict[Path_, int] = {}
        record_lines(node, (), lines)
        return cls(file, data, lines)


def _jsonable(value: Any) -> Any:
    """YAML gives dates and times as objects; a bundle carries them as ISO text."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def _take(value: Any, path: Path_, layer: Layer, origins: Origins) -> Any:
    for p in [p for p in origins if p[: len(path)] == path]:
        del origins[p]
    for p, line in layer.lines.items():
        if p[: len(path)] == path:
            origins[p] = (layer.file, line)
    origins.setdefault(path, (layer.file, layer.lines.get(path)))
    return value


def _overlay(base: Any, over: Any, path: Path_, layer: Layer, origins: Origins) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        origins[path] = (layer.file, layer.lines.get(path, origins.get(path, (None, None))[1]))
        for key, value in over.items():
            sub = (*path, str(key))
            if key in base:
                out[key] = _overlay(base[key], value, sub, layer, origins)
            else:
                out[key] = _take(value, sub, layer, origins)
        return out
    return _take(over, path, layer, origins)


def merge_layers(layers: list[Layer]) -> tuple[dict[str, Any], Origins]:
    """Merge layers in order; returns the document and where each value of it was written."""
    data: dict[str, Any] = {}
    origins: Origins = {}
    for layer in layers:
        data = _overlay(data, layer.data, (), layer, origins)
    return data, origins


def _origin_for(loc: Path_, origins: Origins, fallback: str) -> tuple[str, int | None]:
    for n in range(len(loc), -1, -1):
        if loc[:n] in origins:
            return origins[loc[:n]]
    return fallback, None


@dataclass(frozen=True)
class Resolved:
    """One point's effective configuration: validated, plus the plain data a bundle signs."""

    config: PointConfig
    data: dict[str, Any]
    layers: tuple[str, ...]


class Fleet:
    """A fleet directory (see the module's docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def point_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "points").glob("*.yaml"))

    def _layers(self, point_id: str) -> list[Layer]:
        point_file = self.root / "points" / f"{point_id}.yaml"
        if not point_file.exists():
            raise ConfigError(
                [ConfigProblem(str(point_file), None, "", f"no such point; known: {', '.join(self.point_ids())}")]
            )
        point = Layer.read(point_file)
        problems = []
        ident = point.data.get("point")
        got = ident.get("id") if isinstance(ident, dict) else None
        if got != point_id:
            problems.append(
                ConfigProblem(
                    point.file,
                    point.lines.get(("point", "id"), point.lines.get(("point",), 1)),
                    "point.id",
                    f"must be {point_id!r}, the file's name (got {got!r})",
                )
            )
        layers = []
        defaults = self.root / "defaults.yaml"
        if defaults.exists():
            layers.append(Layer.read(defaults))
        group = ident.get("group") if isinstance(ident, dict) else None
        if isinstance(group, str):
            group_file = self.root / "groups" / f"{group}.yaml"
            if group_file.exists():
                layers.append(Layer.read(group_file))
        for layer in layers:
            if "point" in layer.data:
                problems.append(
                    ConfigProblem(
                        layer.file,
                        layer.lines.get(("point",)),
                        "point",
                        "only a point's own file may set point.id and point.group",
                    )
                )
        if problems:
            raise ConfigError(problems)
        return [*layers, point]

    def resolve(self, point_id: str) -> Resolved:
        """Merge and validate ``point_id``'s layers, or raise :class:`ConfigError` listing every problem."""
        layers = self._layers(point_id)
        data, origins = merge_layers(layers)
        data = _jsonable(data)
        try:
            config = PointConfig.model_validate(data)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                loc = tuple(str(p) for p in err["loc"])
                file, line = _origin_for(loc, origins, layers[-1].file)
                problems.append(ConfigProblem(file, line, ".".join(loc), describe_error(dict(err))))
            raise ConfigError(problems) from None
        return Resolved(config, data, tuple(layer.file for layer in layers))

    def group_members(self, group: str) -> list[str]:
        """The points whose own file names ``group``."""
        members = []
        for pid in self.point_ids():
            layer = Layer.read(self.root / "points" / f"{pid}.yaml")
            ident = layer.data.get("point")
            if isinstance(ident, dict) and ident.get("group") == group:
                members.append(pid)
        return members

    def validate_all(self) -> dict[str, list[ConfigProblem]]:
        """Every point's problems (empty lists for valid points)."""
        out: dict[str, list[ConfigProblem]] = {}
        for pid in self.point_ids():
            try:
                self.resolve(pid)
                out[pid] = []
            except ConfigError as exc:
                out[pid] = exc.problems
        return out
