"""The browser harness itself: Debian's Chromium, driven by playwright-core, loads a local page and can
use WebRTC on loopback with its fake camera."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

PAGE = """<!doctype html><html lang="en"><title>harness</title><body><h1 id="h">loaded</h1>
<script>
window.cameraReady = navigator.mediaDevices.getUserMedia({video: true, audio: true})
  .then(s => s.getVideoTracks()[0].getSettings().width);
</script></body></html>"""


async def test_chromium_loads_a_local_page_and_opens_the_fake_camera(browser):
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await browser.acall("open", name="smoke")
        assert await browser.acall("goto", name="smoke", url=f"http://127.0.0.1:{server.port}/") == 200
        assert await browser.acall("text", name="smoke", selector="#h") == "loaded"
        width = await browser.acall("evaluate", name="smoke", expression="window.cameraReady")
        assert width > 0
    finally:
        await browser.acall("close", name="smoke")
        await server.close()
