"""What a customer could leave behind, looked for the way an auditor would: documents in the machine's
temporary directories (by their content, whatever their name) and personal words in log lines.

Shared by the kiosk's privacy tests (tests/kiosk/test_journey.py) and the chaos soak (simulation/soak.py),
which runs these checks after every journey."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable

#: The first bytes of what a leaked scan or printout would be: PDF, JPEG, PNG, PPM/PGM, TIFF.
DOCUMENT_MAGIC = (b"%PDF", b"\xff\xd8\xff", b"\x89PNG", b"P6\n", b"P5\n", b"II*\x00", b"MM\x00*")
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")


def document_files(roots: Iterable[str] = TEMP_DIRS) -> set[str]:
    """Every picture or PDF under ``roots`` (what a leaked scan would be), by content. Other programs' files
    (a browser's, a sound server's) are not what this looks for: compare with a set taken before."""
    found = set()
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    # Regular files only: a FIFO or socket another program left in /tmp would block a read.
                    if not stat.S_ISREG(os.lstat(path).st_mode):
                        continue
                    with open(path, "rb") as f:
                        head = f.read(4)
                except OSError:
                    continue
                if head.startswith(DOCUMENT_MAGIC):
                    found.add(path)
    return found


class LogCapture(logging.Handler):
    """Every log line of the process, formatted as a log file would hold it (message, exception text), kept
    so that :meth:`personal` can say whether any of a customer's words reached a log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is itself a finding, not a crash
            self.lines.append(f"{record.name} {record.levelname} <unformattable: {record.msg!r}>")

    def personal(self, words: Iterable[str]) -> list[str]:
        """The log lines that hold any of ``words`` (a name, a SATU, typed text, a document's words)."""
        wanted = [w for w in words if w]
        return [line for line in self.lines if any(w in line for w in wanted)]

    def clear(self) -> None:
        self.lines.clear()
