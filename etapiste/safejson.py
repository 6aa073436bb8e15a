"""JSON from outside this process, parsed with a nesting limit: the one parser for every hostile input.

Why this exists: ``json.loads`` recurses once per ``[`` or ``{``, so about a kilobyte of brackets raises
``RecursionError`` — not a ``ValueError`` — out of code that was written to catch "not JSON". On the
switchboard that was an unauthenticated traceback per connection; on the kiosk it escaped the data channel's
message handler and tore down the call's DTLS transport. And a document just under the interpreter's limit
(hundreds of levels) parses, then breaks whatever walks it next (``json.dumps``, ``yaml.dump``, ``repr`` in a
log line), far from the place that could have said "malformed".

So :func:`loads` refuses anything nested deeper than :data:`MAX_DEPTH` with :class:`JsonTooDeep`, a
``ValueError``: every caller that already turns a ``ValueError`` into its own "malformed" answer (the
protocol's ``error malformed``, a bundle's ``malformed`` rejection, a 400 at the login) handles it without
new code, and nothing deeper than the limit ever reaches the rest of the program. The parse itself runs the
standard library's C scanner; the depth is then measured without recursion.
"""

from __future__ import annotations

import json
from typing import Any

#: The deepest nesting accepted. The protocol's deepest message (``queue.snapshot``) is 5 levels, a signed
#: bundle about 10, a remote command 3; 32 leaves room for growth and is far below where anything recurses
#: into trouble (Python's default recursion limit is 1000 frames, pydantic's JSON parser stops at 200).
MAX_DEPTH = 32


class JsonTooDeep(ValueError):
    """The text nests arrays/objects deeper than the limit; it is refused before anything walks it."""

    def __init__(self, max_depth: int):
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def depth(value: Any, limit: int | None = None) -> int:
    """How deeply ``value`` (parsed JSON) nests: a scalar is 0, ``[]`` and ``{}`` are 1.

    Walks with an explicit stack, so it cannot itself hit the recursion limit; stops early once ``limit``
    is exceeded (the returned depth is then ``limit + 1``).
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if limit is not None and deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads(raw: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for input from outside: refuses nesting deeper than ``max_depth``.

    Raises ``json.JSONDecodeError`` / ``UnicodeDecodeError`` for text that is not JSON (as ``json.loads``
    does) and :class:`JsonTooDeep` for text nested too deeply — all of them ``ValueError``.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        # The C scanner checks the interpreter's recursion limit per level and unwinds cleanly.
        raise JsonTooDeep(max_depth) from None
    if depth(value, max_depth) > max_depth:
        raise JsonTooDeep(max_depth)
    return value


__all__ = ["MAX_DEPTH", "JsonTooDeep", "depth", "loads"]
