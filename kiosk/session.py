"""The session state machine: what the kiosk shows and what a customer can do next.

Plain Python, no Qt: views subscribe to :class:`Session`, render the :class:`Snapshot` they are given,
and call the intent methods (``choose_language``…) when a person acts. Every transition is testable
without a screen, and the time is injected so the tests can stand at any moment of the week.

States so far (the journey's call states are added by the call-engine and UI work):

- ``IDLE``: the point is open and waits for a customer; host name, today's hours, language buttons.
- ``CLOSED``: outside the host's opening hours (weekly hours and dated exceptions); tells when it opens.
- ``OUT_OF_SERVICE``: staff or ops took the point out of use, with an optional message; overrides the rest.

Precedence: out of service › closed › idle. :meth:`Session.tick` is called by the app once a minute
(and at start) to follow the clock.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kiosk import opening
from provisioning.schema import Language, PointConfig, Text, TimeRange

Clock = Callable[[], dt.datetime]
Listener = Callable[["Snapshot"], None]


class State(enum.Enum):
    IDLE = "idle"
    CLOSED = "closed"
    OUT_OF_SERVICE = "out_of_service"


class LargeText(enum.Enum):
    """Text-size mode (EN 301 549 5.1.4); reset to normal after each customer."""

    NORMAL = 1.0
    LARGE = 1.4


@dataclass(frozen=True)
class Snapshot:
    """Everything a view needs to draw the current state; immutable, compared to skip redraws."""

    state: State
    language: Language
    now: dt.datetime
    """Host-local time of this snapshot."""
    host_name: Text
    hours_today: tuple[TimeRange, ...]
    next_opening: opening.Opening | None = None
    out_of_service_message: Text | str | None = None
    """Staff/ops message; ``Text`` in three languages or one string shown as is."""
    text_size: LargeText = LargeText.NORMAL
    unavailable_devices: tuple[str, ...] = field(default_factory=tuple)
    """Device keys (``printer``, ``scanner``…) that are missing or faulty, for the customer's notice."""


class Session:
    """The kiosk's state, driven by the clock, by staff/ops and by the customer's intents."""

    def __init__(self, config: PointConfig, clock: Clock | None = None) -> None:
        self._config = config
        zone = config.host.zone
        self._clock: Clock = clock or (lambda: dt.datetime.now(zone).replace(tzinfo=None))
        self._listeners: list[Listener] = []
        self._out_of_service: Text | str | None = None
        self._out_of_service_on = False
        self._unavailable: tuple[str, ...] = ()
        now = self._clock()
        self._snapshot = Snapshot(
            state=State.IDLE,
            language=config.ui.default_language,
            now=now,
            host_name=config.host.name,
            hours_today=(),
        )
        self._snapshot = self._derive(self._snapshot, now)

    # -- observing -------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def state(self) -> State:
        return self._snapshot.state

    @property
    def config(self) -> PointConfig:
        return self._config

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every new snapshot (and once now); returns the unsubscribe function."""
        self._listeners.append(listener)
        listener(self._snapshot)
        return lambda: self._listeners.remove(listener)

    # -- inputs ----------------------------------------------------------------------------------

    def tick(self) -> None:
        """Follow the clock: opening and closing happen here."""
        self._publish(self._derive(self._snapshot, self._clock()))

    def choose_language(self, language: Language) -> None:
        """The customer pressed a language button."""
        if language not in self._config.ui.languages:
            raise ValueError(f"language {language!r} is not offered at this point")
        self._publish(replace(self._snapshot, language=language))

    def set_text_size(self, size: LargeText) -> None:
        self._publish(replace(self._snapshot, text_size=size))

    def set_out_of_service(self, message: Text | str | None = None) -> None:
        """Staff or ops put the point out of use; ``message`` is shown to customers."""
        self._out_of_service_on = True
        self._out_of_service = message
        self.tick()

    def back_in_service(self) -> None:
        self._out_of_service_on = False
        self._out_of_service = None
        self.tick()

    def set_unavailable_devices(self, devices: tuple[str, ...]) -> None:
        """Device health changed: these devices cannot be used now (shown to customers as such)."""
        self._publish(replace(self._snapshot, unavailable_devices=tuple(sorted(devices))))

    def reset(self) -> None:
        """End of a customer's session: language and text size back to the point's defaults."""
        self._publish(
            replace(self._snapshot, language=self._config.ui.default_language, text_size=LargeText.NORMAL)
        )

    # -- internals -------------------------------------------------------------------------------

    def _derive(self, snap: Snapshot, now: dt.datetime) -> Snapshot:
        schedule = self._config.host.opening_hours
        today = tuple(opening.periods_on(schedule, now.date()))
        if self._out_of_service_on:
            state = State.OUT_OF_SERVICE
        elif not opening.is_open(schedule, now):
            state = State.CLOSED
        else:
            state = State.IDLE
        return replace(
            snap,
            state=state,
            now=now,
            hours_today=today,
            next_opening=opening.next_opening(schedule, now) if state is State.CLOSED else None,
            out_of_service_message=self._out_of_service if self._out_of_service_on else None,
        )

    def _publish(self, snap: Snapshot) -> None:
        if snap == self._snapshot:
            return
        self._snapshot = snap
        for listener in list(self._listeners):
            listener(snap)
