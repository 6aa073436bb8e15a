"""What a log line may say about an unexpected exception on the point: its type and where it was raised.

An exception's message may quote whatever it was handed — a PIN buffer, a name read from the card, a line of
the customer's text, a document's bytes — and a traceback prints it. Logs on the point keep no personal data,
so for exceptions that are not our own (whose messages are written to be logged) only the type and the place
are named: enough to find the bug, nothing of the customer.
"""

from __future__ import annotations

import traceback
from pathlib import Path


def where(exc: BaseException) -> str:
    """``TypeName at file.py:line in function`` for the innermost frame of ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"
