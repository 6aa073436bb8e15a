"""Applying a bundle safely: verify → write atomically → kiosk reloads → healthy → last-known-good,
or roll back and say why.

Files in the agent's state directory (all written by :func:`provisioning.bundle.atomic_write`):

``point.yaml``   the configuration the kiosk runs; first line ``# etapiste-config-version: N``
``lkg.json``     the last-known-good bundle (the one ``point.yaml`` is restored from)
``pending.json`` present only while an apply is in flight: ``{"version": N}``
``failed.json``  versions that failed their health check (not retried; publish a newer one)
``trust.json``   the organiser keys this point trusts (updated by key introductions)

Every file is replaced whole (temp, fsync, rename, fsync the directory), so an agent killed at any
step leaves ``point.yaml`` either the old configuration or the new one, never a mix. On start,
:meth:`Applier.recover` finds a ``pending.json`` left by a killed agent, restores the last-known-good
configuration, and the broker's retained bundle then starts the apply afresh.

Test hook: ``crash_at`` (the agent's ``ETAPISTE_AGENT_CRASH_AT`` environment variable) names a step
(:data:`STEPS`) at which the process SIGKILLs itself, so tests can prove the claim above at every step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from etapiste import safejson
from provisioning.bundle import BundleRejected, TrustStore, VerifiedBundle, atomic_write, verify_bundle
from provisioning.kiosk_link import VERSION_HEADER

log = logging.getLogger(__name__)

#: libyaml's dumper when present: the pure-Python one is most of an apply's CPU time.
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

STEPS = ("verified", "pending-marked", "temp-written", "renamed", "reload-sent", "healthy", "trust-saved", "lkg-saved")


class Kiosk(Protocol):
    """What applying needs from the kiosk link (:class:`provisioning.kiosk_link.KioskLinkServer`)."""

    async def reload(self, version: int, path: str | Path) -> None: ...
    async def wait_healthy(self, version: int, timeout: float, *, total: float | None = None) -> tuple[bool, str]: ...
    async def wait_connected(self, timeout: float, *, after: int = 0) -> bool: ...


@dataclass(frozen=True)
class Outcome:
    """The result of one bundle's arrival, as reported to the organiser."""

    version: int | None
    status: str
    """``applied``, ``unchanged``, ``rejected`` or ``rolled_back``."""
    code: str = ""
    reason: str = ""
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "status": self.status, "code": self.code, "reason": self.reason, "at": self.at}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_config(version: int, keyid: str, expires: str, data: dict[str, Any]) -> bytes:
    """The ``point.yaml`` the kiosk reads: a version header, then the signed configuration as YAML."""
    header = (
        f"{VERSION_HEADER} {version}\n"
        f"# Written by the etapiste provisioning agent from a bundle signed by key {keyid},\n"
        f"# expiring {expires}. Do not edit: the next bundle replaces this file.\n"
    )
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    return (header + body).encode()


def _render(bundle: VerifiedBundle) -> bytes:
    return render_config(bundle.version, bundle.keyid, f"{bundle.expires:%Y-%m-%dT%H:%M:%SZ}", bundle.config_data)


class Applier:
    """Applies bundles for one point in ``state_dir``; see the module's docstring."""

    def __init__(
        self,
        state_dir: Path,
        point: str,
        kiosk: Kiosk,
        *,
        health_timeout: float = 60.0,
        crash_at: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ):
        if crash_at is not None and crash_at not in STEPS:
            raise ValueError(f"unknown apply step {crash_at!r}; one of {', '.join(STEPS)}")
        self.dir = state_dir
        self.point = point
        self.kiosk = kiosk
        self.health_timeout = health_timeout
        self.crash_at = crash_at
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.config_path = state_dir / "point.yaml"
        self.last: Outcome | None = None

    # ---- files
    def _read_json(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.dir / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        atomic_write(self.dir / name, json.dumps(data, ensure_ascii=False).encode(), mode=0o600)

    @property
    def trust(self) -> TrustStore:
        return TrustStore.load(self.dir / "trust.json")

    @property
    def lkg(self) -> dict[str, Any] | None:
        """The last-known-good record: ``{"version": N, "bundle": {...}}``."""
        return self._read_json("lkg.json")

    @property
    def applied_version(self) -> int:
        lkg = self.lkg
        return int(lkg["version"]) if lkg else 0

    @property
    def applied_expires(self) -> str | None:
        """When the running bundle expires: it keeps running after, but ops should publish before then."""
        lkg = self.lkg
        return str(lkg["bundle"]["signed"]["expires"]) if lkg else None

    def _failed(self) -> dict[str, str]:
        return dict((self._read_json("failed.json") or {}).get("versions", {}))

    @property
    def newest_version(self) -> int:
        """The highest version this point has applied or rolled back: an organiser's next bundle goes above it
        (a rolled-back version is never retried)."""
        return max([self.applied_version, *(int(v) for v in self._failed())])

    def _step(self, name: str) -> None:
        log.debug("apply step: %s", name)
        if self.crash_at == name:
            log.warning("test hook: killing the agent at step %s", name)
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(10)  # pragma: no cover - SIGKILL is not deliverable late

    # ---- recovery
    async def recover(self) -> Outcome | None:
        """Undo an apply a killed agent left in flight: restore the last-known-good configuration."""
        for stale in self.dir.glob(".*.tmp"):  # a write killed before its rename
            stale.unlink(missing_ok=True)
        pending = self._read_json("pending.json")
        if pending is None:
            return None
        version = pending.get("version")
        log.warning("an apply of version %s was interrupted; restoring the last-known-good configuration", version)
        await self._restore_lkg(reload=True)
        (self.dir / "pending.json").unlink(missing_ok=True)
        why = "the agent stopped during the apply; the last-known-good configuration was restored"
        self.last = Outcome(version, "interrupted", "interrupted", why, _now())
        return self.last

    async def _restore_lkg(self, *, reload: bool) -> int:
        lkg = self.lkg
        if lkg is None:
            self.config_path.unlink(missing_ok=True)
            version = 0
        else:
            # Verified when it was applied; re-verifying could fail on a key retired since.
            signed = lkg["bundle"]["signed"]
            version = int(lkg["version"])
            data = render_config(version, str(lkg.get("keyid", "?")), str(signed["expires"]), signed["config"])
            atomic_write(self.config_path, data, mode=0o640)
        if reload:
            with contextlib.suppress(ConnectionError):  # the kiosk reads point.yaml when it starts
                await self.kiosk.reload(version, self.config_path)
        return version

    # ---- apply
    async def offer(self, payload: bytes) -> Outcome:
        """Handle one bundle from the broker; returns (and remembers) what happened."""
        self.last = await self._offer(payload)
        log.info("bundle %s: %s %s", self.last.version, self.last.status, self.last.reason)
        return self.last

    async def _offer(self, payload: bytes) -> Outcome:
        lkg = self.lkg
        applied = int(lkg["version"]) if lkg else 0
        try:
            doc = safejson.loads(payload)  # nested JSON: rejected malformed below, never a RecursionError
        except ValueError as exc:
            return Outcome(None, "rejected", "malformed", f"the bundle is not JSON: {exc}", _now())
        if lkg is not None and isinstance(doc, dict) and doc.get("signed") == lkg["bundle"].get("signed"):
            return Outcome(applied, "unchanged", at=_now())
        try:
            trust = self.trust
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"the point's trust store {self.dir / 'trust.json'} cannot be read ({exc}); reinstall it"
            return Outcome(None, "rejected", "trust_store", reason, _now())
        try:
            bundle = verify_bundle(payload, point=self.point, trust=trust, applied_version=applied, now=self.clock())
        except BundleRejected as exc:
            return Outcome(exc.version, "rejected", exc.code, str(exc), _now())
        failed = self._failed()
        if str(bundle.version) in failed:
            return Outcome(
                bundle.version, "rejected", "failed_before",
                f"version {bundle.version} was rolled back before ({failed[str(bundle.version)]}); publish a newer one",
                _now(),
            )  # fmt: skip
        self._step("verified")
        self._write_json("pending.json", {"version": bundle.version, "previous": applied})
        self._step("pending-marked")
        data = _render(bundle)
        atomic_write(self.config_path, data, mode=0o640, before_rename=lambda: self._step("temp-written"))
        self._step("renamed")
        ok, reason = await self._reload_and_wait(bundle.version)
        if ok:
            self._step("healthy")
            if set(bundle.trust_after.keys) != set(self.trust.keys):
                bundle.trust_after.save(self.dir / "trust.json")
            self._step("trust-saved")
            self._write_json("lkg.json", {"version": bundle.version, "keyid": bundle.keyid, "bundle": bundle.raw})
            self._step("lkg-saved")
            (self.dir / "pending.json").unlink(missing_ok=True)
            return Outcome(bundle.version, "applied", at=_now())
        log.warning("version %s failed its health check (%s); rolling back", bundle.version, reason)
        previous = await self._restore_lkg(reload=True)
        failed[str(bundle.version)] = reason
        self._write_json("failed.json", {"versions": failed})
        (self.dir / "pending.json").unlink(missing_ok=True)
        return Outcome(bundle.version, "rolled_back", "unhealthy", f"{reason}; back on version {previous}", _now())

    async def _reload_and_wait(self, version: int) -> tuple[bool, str]:
        deadline = time.monotonic() + self.health_timeout
        try:
            await self.kiosk.reload(version, self.config_path)
        except ConnectionError:
            # No kiosk right now: it may be restarting. When it connects, tell it again.
            if await self.kiosk.wait_connected(self.health_timeout):
                with contextlib.suppress(ConnectionError):
                    await self.kiosk.reload(version, self.config_path)
        self._step("reload-sent")
        remaining = max(0.1, deadline - time.monotonic())
        return await self.kiosk.wait_healthy(version, remaining, total=self.health_timeout)
