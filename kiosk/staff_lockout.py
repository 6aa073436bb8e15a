"""The staff PIN's lockout: five tries, then locked, each lockout twice as long as the one before (5 min,
10, 20 … at most 4 h) until the right PIN is entered; kept in a small file so that restarting the kiosk
or the PC does not hand a guesser five fresh tries.

Why these numbers: before, 5 tries per 5 minutes kept in memory let anyone at the screen try about
1,400 four-digit PINs a day (and a restart reset the count). With 6 digits and this lockout a guesser
gets about 55 tries in the first day and at most 30 a day after that (15 in a room open 12 hours): a
year of trying finds the PIN with a chance of about 1 %, and every lockout shows in ops' fleet status
(the kiosk tells the agent). Host staff, who mistype now and then and then get it right, never meet
more than the first 5-minute lockout. The 4-hour cap bounds what a prankster can do to the staff;
ops can take the room out of service remotely meanwhile.

The file (``staff-lockout.json`` in the kiosk's state directory, systemd's ``StateDirectory=``, mode
0600) holds counts and a time, never a PIN or anything of a customer. Times are wall-clock seconds
(``time.time``) so that they mean the same after a reboot; a lockout that seems to run longer than the
cap (the clock was set back) is cut to the cap.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from provisioning.bundle import atomic_write

log = logging.getLogger(__name__)

#: Wrong PINs in a row before staff mode locks.
TRIES = 5
#: The first lockout; each following one (without a right PIN between) lasts twice as long.
FIRST_LOCKOUT_S = 300
#: The longest a lockout lasts.
MAX_LOCKOUT_S = 4 * 3600
FILE_NAME = "staff-lockout.json"


@dataclass(frozen=True)
class LockoutState:
    """What is kept (and reported to the agent): counts and a time, never a PIN."""

    failures: int = 0
    """Wrong PINs since the last right one."""
    tries: int = 0
    """Wrong PINs since the last lockout ended (the lock closes at :data:`TRIES`)."""
    lockouts: int = 0
    """Lockouts since the last right PIN (the next lasts ``FIRST_LOCKOUT_S * 2**lockouts``)."""
    locked_until: float = 0.0
    """Clock time the current lockout ends (0: never locked)."""


def lockout_seconds(lockouts: int) -> int:
    """How long the ``lockouts``-th lockout (1-based) lasts."""
    return int(min(FIRST_LOCKOUT_S * 2 ** max(0, lockouts - 1), MAX_LOCKOUT_S))


def default_path() -> Path | None:
    """``$STATE_DIRECTORY/staff-lockout.json`` when systemd gave the kiosk a state directory, else ``None``
    (a developer's or the demo's run keeps the lockout in memory)."""
    directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(directory) / FILE_NAME if directory else None


class StaffLockout:
    """Counts wrong staff PINs and says whether staff mode is locked; see the module's docstring.

    ``path`` ``None`` keeps it in memory (tests of the session, a run without a state directory).
    ``clock`` is seconds on a clock that means the same across restarts when ``path`` is given.
    """

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._listeners: list[Callable[[LockoutState], None]] = []
        self.state = self._load()

    # -- reading and keeping --------------------------------------------------------------------------
    def _load(self) -> LockoutState:
        if self.path is None or not self.path.exists():
            return LockoutState()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            state = LockoutState(
                failures=int(data["failures"]), tries=int(data["tries"]), lockouts=int(data["lockouts"]),
                locked_until=float(data["locked_until"]),
            )  # fmt: skip
            if min(state.failures, state.tries, state.lockouts) < 0:
                raise ValueError("negative count")
            return state
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Cannot tell how many tries were made: start as after a first lockout rather than with fresh tries.
            log.warning("staff lockout file %s unreadable (%s); staff mode locked for %d s", self.path,
                        type(exc).__name__, FIRST_LOCKOUT_S)  # fmt: skip
            return LockoutState(lockouts=1, locked_until=self._clock() + FIRST_LOCKOUT_S)

    def _set(self, state: LockoutState) -> None:
        self.state = state
        if self.path is not None:
            try:
                atomic_write(self.path, json.dumps(asdict(state)).encode(), mode=0o600)
            except OSError as exc:  # a full or read-only disk must not stop the kiosk; the lock still holds
                log.error("cannot keep the staff lockout in %s: %s", self.path, exc.strerror)
        for listener in list(self._listeners):
            listener(state)

    def subscribe(self, listener: Callable[[LockoutState], None]) -> None:
        """``listener`` gets the state after every change (the kiosk passes it on to the agent)."""
        self._listeners.append(listener)

    # -- asking and counting --------------------------------------------------------------------------
    def remaining(self) -> float:
        """Seconds until staff mode unlocks (0 when it is not locked)."""
        left = self.state.locked_until - self._clock()
        if left > MAX_LOCKOUT_S:  # the clock was set back: never longer than the cap
            self._set(LockoutState(self.state.failures, self.state.tries, self.state.lockouts,
                                   self._clock() + MAX_LOCKOUT_S))  # fmt: skip
            left = MAX_LOCKOUT_S
        return max(0.0, left)

    def failed(self) -> float:
        """Count a wrong PIN; returns how long staff mode is now locked (0 if it is not)."""
        s = self.state
        tries = s.tries + 1
        if tries < TRIES:
            self._set(LockoutState(s.failures + 1, tries, s.lockouts, s.locked_until))
            return 0.0
        lockouts = s.lockouts + 1
        seconds = lockout_seconds(lockouts)
        self._set(LockoutState(s.failures + 1, 0, lockouts, self._clock() + seconds))
        log.warning("staff PIN: %d wrong since the last right one; staff mode locked for %d s", s.failures + 1, seconds)
        return float(seconds)

    def succeeded(self) -> None:
        """The right PIN: the counts start again from nothing."""
        if self.state != LockoutState():
            self._set(LockoutState())
