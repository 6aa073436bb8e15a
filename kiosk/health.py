"""Device health: what works in the room right now, for the customer (what is unavailable), the host
staff (each device with its own reason) and the organiser (through the provisioning agent).

Each probe asks the device's driver for its status and never raises: a device that cannot be asked is
reported as missing or faulty with the reason, so the kiosk runs "with whatever devices exist". Probes
block (CUPS, SANE, PC/SC, V4L2), so :class:`HealthMonitor` runs them on worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Health = Literal["ok", "fault", "missing", "unknown"]


@dataclass(frozen=True)
class DeviceHealth:
    health: Health
    reason: str = ""
    """The device's own reason for staff and ops (a CUPS keyword, a SANE state…); never personal data."""


Report = dict[str, DeviceHealth]

#: Devices a customer needs for a sub-flow; when one is not ``ok`` the idle screen says so.
CUSTOMER_DEVICES = ("camera", "printer", "scanner", "card_reader")


def probe_printer(printer: Any | None) -> DeviceHealth:
    if printer is None:
        return DeviceHealth("missing", "no printer configured")
    try:
        status = printer.status()
    except Exception as exc:  # a driver bug must not stop the kiosk
        return DeviceHealth("fault", type(exc).__name__)
    if status.ready:
        return DeviceHealth("ok", ", ".join(status.reasons) if status.reasons else "")
    missing = status.state in ("missing", "unreachable", "not-configured")
    return DeviceHealth("missing" if missing else "fault", ", ".join(status.reasons) or str(status.state))


def probe_scanner(scanner: Any | None) -> DeviceHealth:
    if scanner is None:
        return DeviceHealth("missing", "no scanner configured")
    try:
        status = scanner.status()
    except Exception as exc:
        return DeviceHealth("fault", type(exc).__name__)
    if status.state in ("ready", "busy"):
        return DeviceHealth("ok", status.state)
    return DeviceHealth("missing" if status.state in ("missing", "disabled") else "fault",
                        "; ".join(status.problems) or status.state)


def probe_card_reader(reader: Any | None) -> DeviceHealth:
    if reader is None:
        return DeviceHealth("missing", "no card reader configured")
    try:
        readers = reader.readers()
    except Exception as exc:
        return DeviceHealth("missing", type(exc).__name__)
    return DeviceHealth("ok", readers[0]) if readers else DeviceHealth("missing", "no reader attached")


def probe_camera(camera: Any | None) -> DeviceHealth:
    if camera is None:
        return DeviceHealth("missing", "no camera configured")
    try:
        status = camera.status()
    except Exception as exc:
        return DeviceHealth("fault", type(exc).__name__)
    return DeviceHealth("ok") if status.ready else DeviceHealth("missing", status.state)


def probe_speaker(speaker: Any | None) -> DeviceHealth:
    """Speech output's sound path (espeak-ng and the sound server); the call's speaker is the same sink."""
    if speaker is None:
        return DeviceHealth("missing", "no speech output")
    try:
        return DeviceHealth("ok") if speaker.available() else DeviceHealth("missing", "no sound server")
    except Exception as exc:
        return DeviceHealth("fault", type(exc).__name__)


async def check_microphone(audio: Any, seconds: float = 1.0) -> DeviceHealth:
    """Staff's microphone test: open the configured microphone as a call would and measure a second of
    sound. Nothing is recorded or kept; only the level is reported."""
    import math

    import numpy as np

    from kiosk.media import AudioDeviceError, open_microphone

    try:
        track = await asyncio.to_thread(open_microphone, audio)
    except AudioDeviceError as exc:
        return DeviceHealth("missing", str(exc)[:120])
    peak = 0.0
    try:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            frame: Any = await asyncio.wait_for(track.recv(), timeout=seconds + 2)
            samples = frame.to_ndarray().astype(np.float64) / 32768.0
            peak = max(peak, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0)
    except Exception as exc:  # a device that opens but gives nothing (or garbage) is a fault
        return DeviceHealth("fault", f"no sound from the microphone ({type(exc).__name__})")
    finally:
        track.stop()
    level = 20 * math.log10(peak) if peak > 0 else -120.0
    return DeviceHealth("ok", f"level {level:.0f} dBFS")


class HealthMonitor:
    """Probes every device now and then and tells its listeners when anything changed."""

    def __init__(self, probes: dict[str, Callable[[], DeviceHealth]], interval_s: float = 15.0) -> None:
        self._probes = probes
        self._interval = interval_s
        self._listeners: list[Callable[[Report], None]] = []
        self.report: Report = {name: DeviceHealth("unknown") for name in probes}
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, listener: Callable[[Report], None]) -> None:
        self._listeners.append(listener)

    def set(self, name: str, health: DeviceHealth) -> None:
        """A device reported by events rather than probes (the switchboard link, the broker)."""
        if self.report.get(name) != health:
            self.report = {**self.report, name: health}
            self._notify()

    async def check(self) -> Report:
        """Probe everything once (concurrently, on worker threads)."""
        names = list(self._probes)
        results = await asyncio.gather(*(asyncio.to_thread(self._probes[n]) for n in names))
        new = {**self.report, **dict(zip(names, results, strict=True))}
        if new != self.report:
            self.report = new
            self._notify()
        return self.report

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self.report)

    def start(self) -> None:
        async def loop() -> None:
            while True:
                try:
                    await self.check()
                except Exception:  # keep monitoring; the next round may succeed
                    log.exception("device health check failed")
                await asyncio.sleep(self._interval)

        self._task = asyncio.ensure_future(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def unavailable(report: Report) -> tuple[str, ...]:
    """The customer-facing devices that cannot be used now."""
    return tuple(name for name in CUSTOMER_DEVICES if name in report and report[name].health in ("missing", "fault"))
