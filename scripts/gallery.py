# mypy: disable-error-code="func-returns-value"
"""Render every kiosk screen in Finnish and English into ``docs/screenshots/`` (run by scripts/screenshots.sh
under a private Xvfb). The session is driven through its own intents and events to each state, the same
way the app does, so the pictures show what a customer and the staff really see.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from PySide6.QtWidgets import QApplication

from drivers.printer_errors import OutOfPaper
from etapiste.config.point import PointConfig, Producer, load_point_config
from etapiste.language import Language
from kiosk.journey import customer_text
from kiosk.session import BookedSlot, LargeText, Session
from kiosk.views.video import VideoView
from kiosk.views.window import KioskWindow

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
ONLY = frozenset(sys.argv[2:])
"""Screens to render (all when none is named), e.g. ``gallery.py docs/screenshots notice identify-pin``."""


def _agent() -> np.ndarray:
    """A stand-in for the agent's video: a drawn figure at a desk (no real person), RGB."""
    image = Image.new("RGB", (640, 480), (70, 110, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 640, 480), fill=(150, 120, 90))  # the desk
    draw.ellipse((250, 90, 390, 250), fill=(230, 190, 160))  # the head
    draw.rounded_rectangle((190, 250, 450, 400), radius=60, fill=(40, 60, 90))  # the shoulders
    return np.asarray(image, dtype=np.uint8)


class _Actions:
    """The controller's side of the screens, doing nothing: the buttons that need it are shown."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def _town_hall(config: PointConfig) -> PointConfig:
    return config.model_copy(update={"host": config.host.model_copy(update={"kind": "town_hall"})})


def _paper() -> bytes:
    """A stand-in scanned page for the preview: a form with lines (no real person's data)."""
    image = Image.new("RGB", (620, 877), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 580, 110), outline="black", width=3)
    for y in range(160, 820, 40):
        draw.line((60, y, 560, y), fill=(90, 90, 90), width=2)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _to_call(s: Session) -> None:
    s.choose_language(s.snapshot.language)
    s.choose_producer("kela")
    s.accept_notice()
    s.call_answered()


def _producer(s: Session, producer: str) -> Producer:
    return next(p for p in s.config.producers if p.id == producer)


def _waits(s: Session) -> None:
    """What the switchboard's queue.estimates would say: waits, one producer with nobody online."""
    waits: dict[str, int | None] = {"kela": 420, "migri": 1500, "poliisi": 60, "vero": 900, "dvv": None,
                                    "te-palvelut": 240, "kansalaisneuvonta": 120}
    s.set_producer_estimates(waits, {pid: 0 if wait is None else 2 for pid, wait in waits.items()})


# What is pressed on the screen after a step's intents (view state: the choice's pages and its question).
VIEW_STEPS: dict[str, Callable[[KioskWindow], object]] = {
    "service-choice-large-more": lambda w: w.service_choice.more.click(),
    "interpreter-need": lambda w: w.service_choice.interpreter.click(),
}


# Each step is a tuple of intents evaluated in order (a lambda cannot hold statements).
STEPS: dict[str, Callable[[Session], object]] = {
    "idle": lambda s: None,
    "service-choice": lambda s: s.choose_language(s.snapshot.language),
    "notice": lambda s: (s.choose_language(s.snapshot.language), s.choose_producer("migri")),
    "queue": lambda s: (s.choose_language(s.snapshot.language), s.choose_producer("kela"), s.accept_notice(),
                        s.queue_update(2, 300)),
    "queue-interrupted": lambda s: (s.choose_language(s.snapshot.language), s.choose_producer("kela"),
                                    s.accept_notice(), s.queue_update(2, 300), s.queue_connection(False)),
    "call-text": lambda s: (_to_call(s), s.remote_text("Hei! Miten voin auttaa? / Hello! How can I help?", True),
                            s.type_text("Tarvitsen apua hakemuksen kanssa", True)),
    "identify-pin": lambda s: (_to_call(s), s.identify_requested(card_present=True), s.card_inserted(5)),
    "identify-wrong-pin": lambda s: (_to_call(s), s.identify_requested(card_present=True), s.card_inserted(5),
                                     s.pin_submitted(), s.identify_failed("wrong_pin", 4)),
    "scan-preview": lambda s: (_to_call(s), s.scan_requested(), s.scan_ready(2, _paper())),
    "print-done": lambda s: (_to_call(s), s.print_started(3), s.print_done()),
    "notice-printed": lambda s: (s.choose_language(s.snapshot.language), s.choose_producer("kela"),
                                 s.privacy_printout("printed")),
    "print-failed-town-hall": lambda s: (_to_call(s), s.print_started(2),
                                         s.print_failed("out_of_paper", customer_text(OutOfPaper(not_printed=True)))),
    "service-choice-waits": lambda s: (s.choose_language(s.snapshot.language), _waits(s)),
    "service-choice-large-more": lambda s: (s.set_text_size(LargeText.LARGE), s.choose_language(s.snapshot.language),
                                            _waits(s)),
    "interpreter-need": lambda s: (s.choose_language(s.snapshot.language), _waits(s)),
    "interpreter-chosen": lambda s: (s.choose_language(s.snapshot.language), _waits(s),
                                     s.set_interpreter_need("fi-sign")),
    "queue-language-agent": lambda s: (s.choose_language(s.snapshot.language), s.choose_producer("kela"),
                                       s.accept_notice(), s.queue_update(2, 300, 1)),
    "queue-transferred": lambda s: (_to_call(s), s.transferred(next(p for p in s.config.producers if p.id == "migri")),
                                    s.queue_update(1, 30)),
    # Appointments (issue 22): the code being typed, a code too early, the queue after checking in, staff's list.
    "appointment-code": lambda s: (s.choose_language(s.snapshot.language), s.open_appointment(),
                                   [s.appointment_key(d) for d in "4271"]),
    "appointment-too-early": lambda s: (s.choose_language(s.snapshot.language), s.open_appointment(),
                                        [s.appointment_key(d) for d in "427193"], s.submit_appointment(),
                                        s.appointment_refused("too_early", dt.datetime(2026, 11, 30, 12, 45),
                                                              dt.datetime(2026, 11, 30, 13, 0))),
    "queue-appointment": lambda s: (s.choose_language(s.snapshot.language), s.open_appointment(),
                                    [s.appointment_key(d) for d in "427193"], s.submit_appointment(),
                                    s.appointment_checked_in(s.config.producers[0], dt.datetime(2026, 11, 30, 12, 15)),
                                    s.queue_update(1, 30)),
    "staff-bookings": lambda s: (s.open_staff_login(), s.staff_pin("246813"), s.set_bookings_today((
        BookedSlot(dt.datetime(2026, 11, 30, 10, 0), "kela", True),
        BookedSlot(dt.datetime(2026, 11, 30, 14, 30), "migri")))),
    # A joint call (issue 22): a Migri agent joined; may they see the identity the customer proved to Kela?
    "call-share-identity": lambda s: (_to_call(s), s.agent_joined(_producer(s, "migri").name),
                                      s.ask_share_identity(_producer(s, "migri").name)),
    "survey": lambda s: (_to_call(s), s.hang_up()),
    "timeout-warning": lambda s: s.choose_language(s.snapshot.language),
    "large-text": lambda s: (s.choose_language(s.snapshot.language), s.set_text_size(LargeText.LARGE)),
    "high-contrast": lambda s: (s.choose_language(s.snapshot.language), s.set_high_contrast(True)),
    "out-of-service": lambda s: s.set_out_of_service("Huoltokatko klo 14 asti / Maintenance until 2 pm"),
    "staff-login": lambda s: s.open_staff_login(),
    "staff": lambda s: (s.open_staff_login(), s.staff_pin("246813")),
    # "Ask for help": while the alert is on its way, and once the organiser's notifier accepted it.
    "help-sending": lambda s: (s.choose_language(s.snapshot.language), s.ask_for_help()),
    "help-told": lambda s: (s.choose_language(s.snapshot.language), s.ask_for_help(), s.help_answered(True)),
}


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    config = load_point_config()
    OUT.mkdir(parents=True, exist_ok=True)
    languages: tuple[Language, ...] = ("fi", "en")
    for language in languages:
        for name, step in STEPS.items():
            if ONLY and name not in ONLY:
                continue
            mono = [0.0]
            moment = dt.datetime(2026, 11, 30, 12, 0)
            host = _town_hall(config) if name.endswith("-town-hall") else config
            session = Session(host, functools.partial(lambda m: m, moment), functools.partial(lambda m: m[0], mono))
            session.set_language(language)
            # The agent's (drawn) picture, full size in the call and small beside identify, scan and print.
            video = VideoView()
            video.show_remote(_agent())
            window = KioskWindow(session, kiosk_mode=False, actions=_Actions(), video=video)  # type: ignore[arg-type]
            window.resize(1280, 1024)
            window.show()
            step(session)
            VIEW_STEPS.get(name, lambda w: None)(window)
            if name == "timeout-warning":
                mono[0] += config.ui.idle_timeout_s - 25
                session.tick()
            app.processEvents()
            window.grab().save(str(OUT / f"{name}-{language}.png"))
            window.allow_close()
            window.close()
    closed = Session(config, lambda: dt.datetime(2026, 11, 29, 11, 0))
    for language in languages if not ONLY or "closed" in ONLY else ():
        closed.set_language(language)
        window = KioskWindow(closed, kiosk_mode=False)
        window.resize(1280, 1024)
        window.show()
        app.processEvents()
        window.grab().save(str(OUT / f"closed-{language}.png"))
        window.allow_close()
        window.close()
    print(f"gallery: {len(STEPS) * 2 + 2} screens in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
