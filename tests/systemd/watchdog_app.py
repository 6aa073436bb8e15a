"""A stand-in for the kiosk app, run by tests/systemd/test_watchdog.py as a child process the way cage
runs the real one: it takes the watchdog from its environment, says READY=1 and keeps the keep-alive on
its event loop (plain asyncio, or Qt's through qasync as in the kiosk). Commands on stdin, read by a
thread so that they arrive even while the loop is hung:

  hang     the event loop blocks (prints "hung" first) until "release"
  sick     the app reports unhealthy;  well: healthy again
  env      prints whether NOTIFY_SOCKET is still in its environment
  quit     STOPPING=1 and exit
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading

from kiosk.watchdog import Watchdog


def main(kind: str) -> int:
    healthy = threading.Event()
    healthy.set()
    release = threading.Event()
    done = threading.Event()
    watchdog = Watchdog.from_environment(health=healthy.is_set)

    def say(text: str) -> None:
        print(text, flush=True)

    def hang() -> None:
        say("hung")
        release.wait()
        say("released")

    async def app() -> None:
        loop = asyncio.get_running_loop()
        watchdog.ready("idle")
        watchdog.start(loop)

        def commands() -> None:
            for line in sys.stdin:
                command = line.strip()
                if command == "hang":
                    release.clear()
                    loop.call_soon_threadsafe(hang)
                elif command == "release":
                    release.set()
                elif command == "sick":
                    healthy.clear()
                    say("ok")
                elif command == "well":
                    healthy.set()
                    say("ok")
                elif command == "env":
                    say("NOTIFY_SOCKET" if "NOTIFY_SOCKET" in os.environ else "clean")
                elif command == "quit":
                    break
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=commands, daemon=True).start()
        say("started")
        while not done.is_set():
            await asyncio.sleep(0.01)
        watchdog.stopping()
        watchdog.close()

    if kind == "qasync":
        import qasync
        from PySide6.QtCore import QCoreApplication

        qt_app = QCoreApplication([])
        loop = qasync.QEventLoop(qt_app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(app())
    else:
        asyncio.run(app())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "asyncio"))
