"""Harness plugin: Debian's headless Chromium driven by the npm package playwright-core.

A small Node program (``simulation/browser/driver.mjs``) launches ``/usr/bin/chromium`` with the flags that make
WebRTC work on loopback and with fake camera and microphone, and executes one JSON command per line. The
Python side is synchronous (one browser for the whole run); async tests call it through ``asyncio.to_thread``
so their event loop keeps serving the switchboard and the aiortc point meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from simulation.services import watchdog
from simulation.services.common import ServiceUnavailable, require_program

#: The Node project (driver.mjs, playwright-core), where scripts/setup.sh runs npm ci.
BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM = "/usr/bin/chromium"
#: From docs' stack notes: loopback WebRTC, fake media devices, nothing phoning home.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream=fps=30",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints",
]


class BrowserError(AssertionError):
    """A browser command failed (element not found, timeout, script error)."""


class Browser:
    """One Chromium; ``page`` names select a separate browsing context (own cookies), e.g. "agent"."""

    def __init__(self, log_path: Path, extra_flags: tuple[str, ...] = ()):
        """``extra_flags``: Chromium flags after :data:`CHROMIUM_FLAGS` (a benchmark's camera file, say)."""
        require_program("node")
        if not Path(CHROMIUM).exists():
            raise ServiceUnavailable(f"{CHROMIUM} is not installed; run scripts/setup.sh")
        if not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
            raise ServiceUnavailable(
                "playwright-core is not installed; run scripts/setup.sh (npm ci in simulation/browser)"
            )
        env = dict(os.environ)
        env.update(
            ETAPISTE_CHROMIUM=CHROMIUM,
            ETAPISTE_CHROMIUM_ARGS=json.dumps([*CHROMIUM_FLAGS, *extra_flags]),
            PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1",
        )
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in quit()
        self.proc = subprocess.Popen(
            ["node", str(BROWSER_DIR / "driver.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=BROWSER_DIR,
            env=env,
            start_new_session=True,
            text=True,
        )
        watchdog.register(self.proc.pid)  # env comes from os.environ, so node and Chromium carry the marker
        self._lock = threading.Lock()
        self._next = 1
        hello = self._read()
        if not hello.get("ok"):
            raise BrowserError(f"Chromium did not start: {hello}")
        self.version = hello["result"]["version"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver exited; its log:\n{self.log_text()[-3000:]}")
        return dict(json.loads(line))

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def call(self, op: str, **args: Any) -> Any:
        with self._lock:
            cmd_id = self._next
            self._next += 1
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"id": cmd_id, "op": op, **args}) + "\n")
            self.proc.stdin.flush()
            reply = self._read()
        if not reply.get("ok"):
            raise BrowserError(f"{op} {args}: {reply.get('error')}")
        return reply.get("result")

    async def acall(self, op: str, **args: Any) -> Any:
        return await asyncio.to_thread(self.call, op, **args)

    def quit(self) -> None:
        """Ask the driver to close Chromium, and kill the lot if it has not within 10 s.

        Neither the driver's answer nor the command lock is waited for: a test thread stuck in a call (a
        run ended by Ctrl-C mid-test) holds the lock, and a driver that hangs closing Chromium never
        answers; either would keep the run from ending at all."""
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"id": 0, "op": "quit"}) + "\n")
                self.proc.stdin.close()  # the driver's command loop ends there too
                self.proc.wait(10)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
            watchdog.unregister(self.proc.pid)
            self._log.close()
