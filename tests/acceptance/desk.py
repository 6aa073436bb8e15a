"""The producer desk (the real page, in the harness's headless Chromium) as the acceptance test drives it,
and the screenshots of each step of the journey (kiosk and desk side by side in the docs)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from simulation.switchboard import PASSWORDS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "journey"
#: The SHA-256 the page itself computes of a received document's bytes (Web Crypto), as hex.
_SHA_OF_RECEIVED = """fetch(desk.received[{i}].url).then(r => r.arrayBuffer())
  .then(b => crypto.subtle.digest('SHA-256', b))
  .then(d => [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join(''))"""
_BYTES_OF_RECEIVED = """fetch(desk.received[{i}].url).then(r => r.arrayBuffer())
  .then(b => Array.from(new Uint8Array(b)))"""


class Desk:
    """One desk page: an agent's or an interpreter's."""

    def __init__(self, browser: Any, name: str, base: str) -> None:
        self.browser, self.name, self.base = browser, name, base

    async def call(self, op: str, **args: Any) -> Any:
        return await self.browser.acall(op, name=self.name, **args)

    async def login(self, username: str) -> None:
        await self.browser.acall("open", name=self.name, viewport={"width": 1280, "height": 900})
        await self.call("goto", url=self.base + "/")
        await self.call("evaluate", expression="localStorage.setItem('etapiste.lang', 'en')")
        await self.call("goto", url=self.base + "/")
        await self.call("fill", selector="#username", value=username)
        await self.call("fill", selector="#password", value=PASSWORDS[username])
        await self.call("click", selector="#login-button")
        await self.call("waitFor", selector="#queue-view" if username != "tulkki" else "#invite-view")

    async def text(self, selector: str) -> str:
        return str(await self.call("text", selector=selector))

    async def until_text(self, selector: str, contains: str, timeout_s: float = 30.0) -> None:
        expression = (f"(document.querySelector({selector!r}) || {{}}).textContent"
                      f" && document.querySelector({selector!r}).textContent.includes({contains!r})")
        await self.call("waitForFunction", expression=expression, timeout=int(timeout_s * 1000))

    async def received_sha256(self, index: int = 0) -> str:
        return str(await self.call("evaluate", expression=_SHA_OF_RECEIVED.format(i=index)))

    async def received_bytes(self, index: int = 0) -> bytes:
        return bytes(await self.call("evaluate", expression=_BYTES_OF_RECEIVED.format(i=index)))

    async def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.call("screenshot", path=str(path))

    async def close(self) -> None:
        await self.browser.acall("close", name=self.name)


class Screenshots:
    """Each step's pictures, written only when ``ETAPISTE_SCREENSHOTS=1`` (regenerating the docs)."""

    def __init__(self, directory: Path = SCREENSHOTS) -> None:
        self.enabled = os.environ.get("ETAPISTE_SCREENSHOTS") == "1"
        self.directory = directory
        self.n = 0
        if self.enabled:
            directory.mkdir(parents=True, exist_ok=True)
            for old in directory.glob("*.png"):
                old.unlink()

    async def step(self, name: str, kiosk: Any, *desks: Desk) -> None:
        if not self.enabled:
            return
        self.n += 1
        stem = f"{self.n:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
        kiosk.grab(self.directory / f"{stem}-kiosk.png")
        for desk in desks:
            await desk.screenshot(self.directory / f"{stem}-{desk.name}.png")
