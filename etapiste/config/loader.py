"""Read YAML configuration and validate it against a model, naming the file and line of every problem.

Ops engineers fix configuration by reading error messages, so every problem names the file, the line, the
field (as a dotted path) and what would be valid. YAML is parsed with PyYAML's safe composer so that each
value keeps the line it came from. The point's configuration (:mod:`etapiste.config.point`), the fleet's
layers (:mod:`provisioning.fleet`) and the switchboard's configuration (:mod:`switchboard.config`) are all
read through here, so their errors read alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

#: libyaml's safe loader when present (several times faster), with the same line marks.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: A dotted path into the document (``("producers", "2", "queue")``) → the 1-based line it is on.
LineMap = dict[tuple[str, ...], int]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a configuration document."""

    file: str
    line: int | None
    """1-based line of the offending value (or of the mapping that lacks a required field)."""
    field: str
    """Dotted path, e.g. ``producers.2.service_hours.weekly.mon``."""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(document)'}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def record_lines(node: yaml.Node, path: tuple[str, ...], out: LineMap) -> None:
    """Record the 1-based line of every node under its dotted path."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            record_lines(value, (*path, str(key.value)), out)
            if not isinstance(value, yaml.ScalarNode):
                # A nested section is reported at its key, where a reader looks for it.
                out[(*path, str(key.value))] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            record_lines(item, (*path, str(i)), out)


def line_for(loc: tuple[str, ...], lines: LineMap) -> int | None:
    """The line of the deepest existing prefix of ``loc`` (a missing field points at its parent)."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def describe_error(err: dict[str, Any]) -> str:
    """One pydantic error as an operator reads it: what is wrong, and the value given when it is short."""
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    if kind == "missing":
        return "this field is required but missing"
    if kind == "extra_forbidden":
        return "unknown field; check the spelling against docs/configuration.md"
    if kind == "literal_error":
        return msg.replace("Input should be", "must be")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and kind not in ("model_type", "dict_type"):
        shown = repr(err["input"])
        if len(shown) <= 60:
            return f"{msg} (got {shown})"
    return msg


def read_text(path: Path) -> str:
    """A configuration file's text, or a :class:`ConfigError` that says why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read the file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigProblem(str(path), None, "", "the file is not UTF-8 text")]) from None


def parse_yaml(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line numbers) and the data, or a :class:`ConfigError` naming the line."""
    try:
        return yaml.compose(text, Loader=_Loader), yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(file, line, "", f"not valid YAML: {problem}")]) from None


def parse_document(model: type[M], text: str, file: str, *, not_a_mapping: str) -> M:
    """Validate ``text`` (YAML) into ``model`` or raise :class:`ConfigError` with every problem and its line;
    ``not_a_mapping`` is the message for a document that is not a mapping of sections."""
    node, data = parse_yaml(text, file)
    if not isinstance(data, dict) or node is None:
        raise ConfigError([ConfigProblem(file, 1, "", not_a_mapping)])
    lines: LineMap = {}
    record_lines(node, (), lines)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            problems.append(ConfigProblem(file, line_for(loc, lines), ".".join(loc), describe_error(dict(err))))
        raise ConfigError(problems) from None
