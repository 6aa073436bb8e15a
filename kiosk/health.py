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
from typing import Any, Literal, cast, get_args

from drivers.errors import DeviceError
from etapiste.codes import CameraCode, DeviceFaultCode, NetworkCode

log = logging.getLogger(__name__)

Health = Literal["ok", "fault", "missing", "unknown"]


@dataclass(frozen=True)
class DeviceHealth:
    health: Health
    reason: str = ""
    """The device's own reason for staff and ops (a CUPS keyword, a SANE state…); never personal data."""
    code: DeviceFaultCode | None = None
    """Why the device is not ``ok``, as a code from :mod:`etapiste.codes` (the statistics count faults by
    it). Set by whoever builds the health from the driver's own code, never derived from ``reason``: a
    reworded sentence or a different CUPS keyword must not change the statistics."""

    def __post_init__(self) -> None:
        if self.health in ("fault", "missing") and self.code is None:
            raise ValueError(f"a {self.health} device needs a code from etapiste.codes")


Report = dict[str, DeviceHealth]

#: Devices a customer needs for a sub-flow; when one is not ``ok`` the idle screen says so.
CUSTOMER_DEVICES = ("camera", "printer", "scanner", "card_reader")


def probe_printer(printer: Any | None) -> DeviceHealth:
    if printer is None:
        return DeviceHealth("missing", "no printer configured", "not_configured")
    try:
        status = printer.status()
    except Exception as exc:  # a driver bug must not stop the kiosk
        return _probe_failed(exc)
    if status.ready:
        return DeviceHealth("ok", ", ".join(status.reasons) if status.reasons else "")
    missing = status.state in ("missing", "unreachable", "not-configured")
    # The most important error's code (conditions are ranked): ``jammed`` whatever CUPS called it.
    code: DeviceFaultCode = status.errors[0].code if status.errors else "printer_error"
    return DeviceHealth("missing" if missing else "fault", ", ".join(status.reasons) or str(status.state), code)


def probe_scanner(scanner: Any | None) -> DeviceHealth:
    if scanner is None:
        return DeviceHealth("missing", "no scanner configured", "not_configured")
    try:
        status = scanner.status()
    except Exception as exc:
        return _probe_failed(exc)
    if status.state in ("ready", "busy"):
        return DeviceHealth("ok", status.state)
    # The codes a scan would raise now: ScannerUnavailable when missing or disabled, else ScannerError.
    missing = status.state in ("missing", "disabled")
    return DeviceHealth(
        "missing" if missing else "fault",
        "; ".join(status.problems) or status.state,
        "scanner_unavailable" if missing else "scanner_error",
    )


def probe_card_reader(reader: Any | None) -> DeviceHealth:
    if reader is None:
        return DeviceHealth("missing", "no card reader configured", "not_configured")
    try:
        readers = reader.readers()
    except Exception as exc:
        return DeviceHealth("missing", type(exc).__name__, _code_of(exc))
    return DeviceHealth("ok", readers[0]) if readers else DeviceHealth("missing", "no reader attached", "no_reader")


#: A camera's state (``drivers.camera.CameraState``) as the error its driver raises in that state.
_CAMERA_CODES: dict[str, CameraCode] = {"missing": "camera_missing", "unplugged": "camera_unplugged"}


def probe_camera(camera: Any | None) -> DeviceHealth:
    if camera is None:
        return DeviceHealth("missing", "no camera configured", "not_configured")
    try:
        status = camera.status()
    except Exception as exc:
        return _probe_failed(exc)
    if status.ready:
        return DeviceHealth("ok")
    return DeviceHealth("missing", status.state, _CAMERA_CODES.get(status.state, "camera_error"))


def probe_speaker(speaker: Any | None) -> DeviceHealth:
    """Speech output's sound path (espeak-ng and the sound server); the call's speaker is the same sink."""
    if speaker is None:
        return DeviceHealth("missing", "no speech output", "not_configured")
    try:
        return DeviceHealth("ok") if speaker.available() else DeviceHealth("missing", "no sound server", "speech_error")
    except Exception as exc:
        return _probe_failed(exc)


async def check_microphone(audio: Any, seconds: float = 1.0) -> DeviceHealth:
    """Staff's microphone test: open the configured microphone as a call would and measure a second of
    sound. Nothing is recorded or kept; only the level is reported."""
    import math

    import numpy as np

    from kiosk.media import AudioDeviceError, open_microphone

    try:
        track = await asyncio.to_thread(open_microphone, audio)
    except AudioDeviceError as exc:
        return DeviceHealth("missing", str(exc)[:120], "microphone_missing")
    peak = 0.0
    try:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            frame: Any = await asyncio.wait_for(track.recv(), timeout=seconds + 2)
            samples = frame.to_ndarray().astype(np.float64) / 32768.0
            peak = max(peak, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0)
    except Exception as exc:  # a device that opens but gives nothing (or garbage) is a fault
        return DeviceHealth("fault", f"no sound from the microphone ({type(exc).__name__})", "microphone_silent")
    finally:
        track.stop()
    level = 20 * math.log10(peak) if peak > 0 else -120.0
    return DeviceHealth("ok", f"level {level:.0f} dBFS")


def network_health(connected: bool, reason: str | None = None) -> DeviceHealth:
    """The switchboard connection as a device: ``reason`` is :class:`kiosk.call.SwitchboardStatus`'s
    (or a TURN trouble's kind); a reason not in :data:`~etapiste.codes.NetworkCode` counts as
    ``unreachable``, what the point sees of a switchboard it cannot use."""
    if connected:
        return DeviceHealth("ok")
    code = cast(NetworkCode, reason) if reason in get_args(NetworkCode) else "unreachable"
    health: Health = "fault" if code in ("turn_refused", "turn_unreachable") else "missing"
    return DeviceHealth(health, reason or "unreachable", code)


def _code_of(exc: Exception) -> DeviceFaultCode:
    """A driver's error carries its code; anything else out of a probe is a bug at the point."""
    return exc.code if isinstance(exc, DeviceError) else "internal_error"


def _probe_failed(exc: Exception) -> DeviceHealth:
    return DeviceHealth("fault", type(exc).__name__, _code_of(exc))


class HealthMonitor:
    """Probes every device now and then and tells its listeners when anything changed."""

    def __init__(self, probes: dict[str, Callable[[], DeviceHealth]], interval_s: float = 15.0) -> None:
        self._probes = probes
        self._interval = interval_s
        self._listeners: list[Callable[[Report], None]] = []
        self.report: Report = {name: DeviceHealth("unknown") for name in probes}
        self._task: asyncio.Task[None] | None = None
        self._held: dict[str, DeviceHealth] = {}

    def subscribe(self, listener: Callable[[Report], None]) -> None:
        self._listeners.append(listener)

    def set(self, name: str, health: DeviceHealth) -> None:
        """A device reported by events rather than probes (the switchboard link, the broker)."""
        if self.report.get(name) != health:
            self.report = {**self.report, name: health}
            self._notify()

    def hold(self, name: str, health: DeviceHealth) -> None:
        """A fault seen while the device was used that its probe cannot see (SANE reports a jammed feeder only
        to the scan that met it; asked afterwards, the scanner is "ready"). It is held — the staff alerted,
        the customers told — until :meth:`release` (the device worked again) or a probe finds another fault."""
        self._held[name] = health
        self.set(name, health)

    def release(self, name: str) -> bool:
        """The held fault is over (the device just worked); the next probe says what it is now."""
        return self._held.pop(name, None) is not None

    async def check(self) -> Report:
        """Probe everything once (concurrently, on worker threads)."""
        names = list(self._probes)
        results = await asyncio.gather(*(asyncio.to_thread(self._probes[n]) for n in names))
        probed = dict(zip(names, results, strict=True))
        for name, held in self._held.items():
            if probed.get(name, held).health == "ok":  # the probe cannot see it: the fault seen in use stands
                probed[name] = held
        new = {**self.report, **probed}
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
