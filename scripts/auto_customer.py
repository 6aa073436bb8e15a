"""A scripted customer for the demo (``scripts/demo.sh --auto-customer``): a headless machine has nobody to
touch the screen, so this walks one customer through the kiosk and says how far they got.

It runs the kiosk app exactly as ``etapiste kiosk`` does (:func:`kiosk.cli.main`, which builds the app with
:func:`kiosk.app.assemble` and runs it), and once the app is assembled, presses the kiosk's own buttons:
Suomi → Kela → Jatka → (the demo agent answers) → PIN 1234 on the pad when the card is in → Skannaa →
Lähetä → OK → (the printout) → OK → (the agent's goodbye) → Lopeta puhelu → a rating of 5.

Why pressing the widgets (a real mouse press and release, ``QTest.mouseClick``) rather than calling the
session's intent methods: the press goes through the very view code a finger does, so a button that is
hidden, disabled or wired to the wrong intent fails the walk, as it would fail a customer. Each press
checks first that the button is on the screen and enabled.

Why a separate script that wraps :func:`kiosk.app.assemble` for its own process only: the kiosk's production
entry point never imports this file, and nothing in ``kiosk/`` knows about it; the wrapper only learns the
parts the app assembled (session, window, engine) and starts the walk on the app's own event loop.

Every wait is bounded and, when it runs out, names the step and what the kiosk showed (states and codes,
never anything of the customer). The outcome goes to ``--result`` as JSON (each step, the SHA-256 of the
scan the kiosk sent, the rating given), and the process exits 0 when the whole journey happened, 1 with the
failed step named on stderr and in the log. After a failed step the customer walks away (the call is
ended, so the agent is told). Either way the kiosk then quits as on SIGTERM (its own clean stop).

    python scripts/auto_customer.py --result out.json [--goodbye TEXT] -- [etapiste kiosk options]
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import hashlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

log = logging.getLogger("auto_customer")

#: The steps of the walk, in order; the result names the first one that did not happen.
STEPS = ("language", "producer", "notice", "queue", "answered", "identify", "scan", "print", "goodbye",
         "end_call", "survey")


class StepFailed(Exception):
    """A step of the walk did not happen; the message says what the kiosk showed instead."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


@dataclass
class Walk:
    """How the scripted customer behaves, and what it saw."""

    pin: str = "1234"
    language: str = "fi"
    producer: str = "kela"
    rating: int = 5
    goodbye: str | None = None
    """Words the agent says last; the customer ends the call once they appear (``None``: right after the
    printout)."""
    patience_s: float = 180.0
    """The longest the customer waits for any one thing (a safety bound, not a speed limit: the drivers'
    own timeouts are shorter, so a device that hangs shows up as its own error first)."""
    done: list[str] = field(default_factory=list)
    failed: StepFailed | None = None
    scan_sha256: str | None = None
    scan_pages: int | None = None
    printed_pages: int | None = None
    identify_steps: list[str] = field(default_factory=list)

    def result(self) -> dict[str, Any]:
        return {
            "ok": self.failed is None and self.done == list(STEPS),
            "done": self.done,
            "failed": None if self.failed is None else {"step": self.failed.step, "detail": self.failed.detail},
            "identify_steps": self.identify_steps,
            "scan_sha256": self.scan_sha256,
            "scan_pages": self.scan_pages,
            "printed_pages": self.printed_pages,
            "rating": self.rating if "survey" in self.done else None,
        }


def _click(step: str, widget: Any) -> None:
    """A finger on a button: only one the customer can see and press."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    if not (widget.isVisible() and widget.isEnabled()):
        raise StepFailed(step, f"the button {widget.objectName() or widget.text()!r} cannot be pressed now")
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def _shown(snap: Any) -> str:
    """What the kiosk shows, in states and codes only (for a failure's message)."""
    from kiosk.session import State

    parts = [f"state {snap.state.value}"]
    if snap.state is State.SURVEY and snap.end_reason:
        parts.append(f"call ended: {snap.end_reason}")
    call = snap.call
    if call is not None:
        for name, flow in (("identify", call.identify), ("scan", call.scan), ("print", call.print_)):
            if flow is not None:
                parts.append(f"{name} {flow.step}" + (f" ({flow.error})" if flow.error else ""))
        if call.trouble:
            parts.append(f"connection {call.trouble}")
    return ", ".join(parts)


def _identify(snap: Any) -> Any:
    return snap.call.identify if snap.call is not None else None


def _scan(snap: Any) -> Any:
    return snap.call.scan if snap.call is not None else None


def _printout(snap: Any) -> Any:
    return snap.call.print_ if snap.call is not None else None


class AutoCustomer:
    """Walks :class:`Walk` through an assembled kiosk (:class:`kiosk.app.Kiosk`) on its event loop."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self.kiosk: Any = None
        self.task: asyncio.Task[None] | None = None
        self.call_ended = asyncio.Event()

    def attach(self, kiosk: Any) -> None:
        """Called with the app's parts as soon as they are assembled (the loop runs them shortly after)."""
        self.kiosk = kiosk
        kiosk.session.subscribe(self._watch)
        engine = kiosk.engine
        if engine is not None:
            original = engine.send_document

            def send_document(pdf: bytes, *args: Any, **kwargs: Any) -> Any:
                # What the kiosk put on the data channel, as a hash only (the agent compares its own).
                if args[:1] == ("scan",) or kwargs.get("kind") == "scan":
                    self.walk.scan_sha256 = hashlib.sha256(pdf).hexdigest()
                return original(pdf, *args, **kwargs)

            engine.send_document = send_document

            def on_engine(event: Any) -> None:
                from kiosk import call as c

                if isinstance(event, c.CallEnded):
                    self.call_ended.set()

            engine.subscribe(on_engine)
        self.task = asyncio.get_event_loop().create_task(self._run())

    def _watch(self, snap: Any) -> None:
        ident = snap.call.identify if snap.call is not None else None
        if ident is not None and (not self.walk.identify_steps or self.walk.identify_steps[-1] != ident.step):
            self.walk.identify_steps.append(ident.step)

    async def _run(self) -> None:
        try:
            await self._walk()
        except StepFailed as exc:
            self.walk.failed = exc
        except Exception as exc:  # a bug in the walk itself: name it, never hang the demo
            step = next((s for s in STEPS if s not in self.walk.done), "survey")
            self.walk.failed = StepFailed(step, f"the scripted customer failed: {type(exc).__name__}: {exc}")
        if self.walk.failed is not None:
            log.error("auto customer: the journey stopped at step %s", self.walk.failed)
            self._leave()
        else:
            log.info("auto customer: the whole journey happened (%s)", ", ".join(self.walk.done))
        await self._settle()
        signal.raise_signal(signal.SIGTERM)  # the app's own clean quit, as systemd stops it

    def _leave(self) -> None:
        """After a failed step the customer walks away: the session's own intents for End call, Stop waiting
        and Skip (the buttons may be behind a sub-flow's panel), so the agent is told and the session wiped."""
        from kiosk.session import State

        session = self.kiosk.session
        try:
            if session.state is State.CALL:
                session.hang_up()
            elif session.state is State.QUEUE:
                session.cancel_queue()
            if session.state is State.SURVEY:
                session.rate(None)
        except RuntimeError as exc:
            log.warning("auto customer: could not leave the session: %s", exc)

    async def _settle(self) -> None:
        """Let the call's hang-up finish before the app is stopped, as it would before the next customer: a
        stop while aiortc is still closing the call leaves its decoder thread waiting, and the process with
        it (the app's shutdown does not wait for the hang-up)."""
        if self.kiosk.engine is not None and "answered" in self.walk.done:
            try:
                await asyncio.wait_for(self.call_ended.wait(), 30)
            except TimeoutError:
                log.warning("auto customer: the call's end was not seen; stopping anyway")
        await self.kiosk.journey.idle()

    # -- waiting -----------------------------------------------------------------------------------------

    async def until(self, step: str, check: Callable[[Any], bool], what: str, *,
                    leave: Callable[[Any], bool] | None = None) -> Any:
        """Wait until ``check(snapshot)``; ``leave(snapshot)`` true means it never will (fail at once)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.walk.patience_s
        session = self.kiosk.session
        while True:
            snap = session.snapshot
            if check(snap):
                return snap
            if leave is not None and leave(snap):
                raise StepFailed(step, f"{what} did not happen; the kiosk shows {_shown(snap)}")
            if loop.time() > deadline:
                raise StepFailed(step, f"{what} did not happen within {self.walk.patience_s:g} s; "
                                       f"the kiosk shows {_shown(snap)}")
            await asyncio.sleep(0.1)

    def _step(self, name: str) -> None:
        self.walk.done.append(name)
        log.info("auto customer: %s done", name)

    # -- the walk ------------------------------------------------------------------------------------------

    async def _walk(self) -> None:
        from kiosk.session import State

        k, w = self.kiosk, self.walk
        window, session = k.window, k.session
        not_in_call: Callable[[Any], bool] = lambda s: s.state is not State.CALL  # noqa: E731

        if k.engine is None:
            raise StepFailed("language", "the kiosk has no call engine (no switchboard credential)")
        try:
            await asyncio.wait_for(k.engine.connected.wait(), w.patience_s)
        except TimeoutError:
            raise StepFailed("language", "the kiosk never reached the switchboard") from None
        await self.until("language", lambda s: s.state is State.IDLE, "the idle screen")
        _click("language", window.idle.language_buttons[w.language])
        await self.until("language", lambda s: s.state is State.SERVICE_CHOICE, "the service choice")
        self._step("language")

        choice = window.service_choice
        while not choice.buttons[w.producer].isVisible() and choice.more.isVisible():
            _click("producer", choice.more)  # as a customer does: the next page, until theirs is there
        _click("producer", choice.buttons[w.producer])
        await self.until("producer", lambda s: s.state is State.NOTICE, "the notice")
        self._step("producer")

        _click("notice", window.notice.go)
        await self.until("notice", lambda s: s.state is State.QUEUE, "the queue")
        self._step("notice")

        await self.until("queue", lambda s: s.state is not State.QUEUE or s.queue_position is not None,
                         "a place in the queue")
        self._step("queue")
        await self.until("answered", lambda s: s.state is State.CALL, "an agent answering",
                         leave=lambda s: s.state is not State.QUEUE)
        self._step("answered")

        # Identification: the agent asks, the card goes in (the demo does it), the PIN on the pad.
        def pin_pad(s: Any) -> bool:
            ident = _identify(s)
            return ident is not None and ident.step == "enter_pin" and ident.tries_left is not None

        await self.until("identify", pin_pad, "the PIN pad (card in the reader)", leave=not_in_call)
        for digit in w.pin:
            _click("identify", window.pin_pad.digit_keys[int(digit)])
        _click("identify", window.pin_pad.ok_key)

        def answered(s: Any) -> bool:
            ident = _identify(s)
            return ident is None or ident.step in ("remove_card", "failed") or (
                ident.step == "enter_pin" and ident.error is not None)

        snap = await self.until("identify", answered, "the card's answer", leave=not_in_call)
        if "remove_card" not in w.identify_steps:
            raise StepFailed("identify", f"no proof was made; the kiosk shows {_shown(snap)}")
        self._step("identify")

        # The scan the agent asks for: place the paper, scan, look at the preview, send.
        def scan_is(*steps: str) -> Callable[[Any], bool]:
            return lambda s: _identify(s) is None and _scan(s) is not None and _scan(s).step in steps

        await self.until("scan", scan_is("place_paper"), "the agent's scan request", leave=not_in_call)
        _click("scan", window.call.flow_primary)  # Skannaa
        snap = await self.until("scan", scan_is("preview", "failed"), "the scan's preview", leave=not_in_call)
        if _scan(snap).step != "preview":
            raise StepFailed("scan", f"the scan failed; the kiosk shows {_shown(snap)}")
        w.scan_pages = _scan(snap).pages - _scan(snap).blank
        _click("scan", window.call.flow_primary)  # Lähetä
        snap = await self.until("scan", scan_is("sent", "failed"), "the scan sent", leave=not_in_call)
        if _scan(snap).step != "sent":
            raise StepFailed("scan", f"the scan was not sent; the kiosk shows {_shown(snap)}")
        if _scan(session.snapshot) is not None and _printout(session.snapshot) is None:
            _click("scan", window.call.flow_primary)  # OK
        self._step("scan")

        # The printout the agent sends.
        def printed(s: Any) -> bool:
            job = _printout(s)
            return job is not None and job.step in ("done", "failed")

        snap = await self.until("print", printed, "the printout", leave=not_in_call)
        if _printout(snap).step != "done":
            raise StepFailed("print", f"nothing was printed; the kiosk shows {_shown(snap)}")
        w.printed_pages = _printout(snap).pages
        _click("print", window.call.flow_primary)  # OK
        self._step("print")

        if w.goodbye:
            goodbye = w.goodbye

            def said_goodbye(s: Any) -> bool:
                return s.call is not None and any(line.who == "agent" and goodbye in line.text
                                                  for line in s.call.transcript)

            await self.until("goodbye", said_goodbye, "the agent's goodbye", leave=not_in_call)
        self._step("goodbye")

        _click("end_call", window.call.end)
        await self.until("end_call", lambda s: s.state is State.SURVEY, "the survey")
        self._step("end_call")

        _click("survey", window.survey.ratings[w.rating - 1])
        await self.until("survey", lambda s: s.state is not State.SURVEY, "the session's end")
        self._step("survey")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--result", type=Path, required=True, help="write the walk's outcome here (JSON)")
    parser.add_argument("--goodbye", help="the agent's last words: the customer ends the call when they appear")
    parser.add_argument("--pin", default="1234", help="PIN1 of the card in the reader")
    parser.add_argument("--patience", type=float, default=180.0, help="longest wait for any one step (s)")
    args, kiosk_argv = parser.parse_known_args(argv)
    # ``kill -USR1 <pid>`` writes every thread's stack to the kiosk's log: a demo that hangs says where.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if kiosk_argv[:1] == ["--"]:
        kiosk_argv = kiosk_argv[1:]

    from kiosk import app, cli

    walk = Walk(pin=args.pin, goodbye=args.goodbye, patience_s=args.patience)
    customer = AutoCustomer(walk)
    assemble = app.assemble

    def assemble_and_walk(*a: Any, **kw: Any) -> Any:
        kiosk = assemble(*a, **kw)
        customer.attach(kiosk)
        return kiosk

    app.assemble = assemble_and_walk  # this process only: the app's run() looks it up when it starts
    code = cli.main(kiosk_argv)
    _write_result(args.result, walk, customer, code)
    if walk.failed is not None:
        print(f"auto customer: the journey stopped at step {walk.failed}", file=sys.stderr)
        code = 1
    left = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if left:
        # The app has stopped; threads it left (aiortc's decoders of a call closed too late) would keep the
        # process alive for ever, and the demo waiting for it. Say so, and end the process anyway.
        log.warning("auto customer: the kiosk app left %d thread(s) running (%s); exiting anyway",
                    len(left), ", ".join(left))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _write_result(path: Path, walk: Walk, customer: AutoCustomer, code: int) -> None:
    """The walk's outcome as JSON; a walk the app's end cut short fails at the first step it did not do."""
    if customer.kiosk is None and walk.failed is None:
        walk.failed = StepFailed("language", f"the kiosk app did not start (exit {code})")
    elif walk.failed is None and walk.done != list(STEPS):
        step = next(s for s in STEPS if s not in walk.done)
        walk.failed = StepFailed(step, "the kiosk was stopped before this step")
    path.write_text(json.dumps(walk.result(), indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
