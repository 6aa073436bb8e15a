"""The process that plugs the virtual card into pcscd's vpcd reader, controlled by the test over a unix socket.

    python -m simulation.card.vpcd --port 35963 --control /run/dir/card0.sock

vpcd's protocol: each message is a 2-byte big-endian length and a payload; a 1-byte payload is a control
code (0 power off, 1 power on, 2 reset, 4 send the ATR), anything longer an APDU. The TCP connection *is*
the card: connecting inserts it, closing pulls it out. vpcd listens on 0.0.0.0, so this process and pcscd
run inside the harness's private network namespace.

Control requests are JSON lines, each answered with one JSON line:
  {"op": "insert", "profile": {...}}   insert a new card (``profile`` omitted: the same card again)
  {"op": "remove"}                     pull the card out now
  {"op": "arm", "after_apdus": N}      pull it out instead of answering the N-th APDU from now
  {"op": "arm", "on_ins": 32}          pull it out instead of answering the next APDU with that INS
  {"op": "status"}                     what the card saw and holds (APDU log, PIN tries, power events)
  {"op": "clear_log"}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import struct
import threading
from typing import Any

from simulation.card.applet import CardProfile, FineidApplet


class VirtualCard:
    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.applet: FineidApplet | None = None
        self.conn: socket.socket | None = None
        self.powered = False
        self.apdus: list[str] = []
        self.events: list[str] = []
        self.after_apdus: int | None = None
        self.on_ins: int | None = None

    # -- control ------------------------------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "insert":
            return self.insert(req.get("profile"))
        if op == "remove":
            self.remove("removed by test")
            return {"ok": True}
        if op == "arm":
            with self.lock:
                self.after_apdus = req.get("after_apdus")
                self.on_ins = req.get("on_ins")
            return {"ok": True}
        if op == "clear_log":
            with self.lock:
                self.apdus.clear()
                self.events.clear()
            return {"ok": True}
        if op == "status":
            with self.lock:
                a = self.applet
                return {
                    "ok": True,
                    "inserted": self.conn is not None,
                    "powered": self.powered,
                    "apdus": list(self.apdus),
                    "events": list(self.events),
                    "tries_left": a.tries_left if a else None,
                    "pin_verified": a.pin_verified if a else None,
                    "signatures": a.signatures if a else 0,
                }
        return {"ok": False, "error": f"unknown op {op!r}"}

    def insert(self, profile: dict[str, Any] | None) -> dict[str, Any]:
        with self.lock:
            if self.conn is not None:
                return {"ok": False, "error": "a card is already inserted"}
            if profile is not None:
                self.applet = FineidApplet(CardProfile.from_json(profile))
            if self.applet is None:
                return {"ok": False, "error": "no card to insert"}
            self.applet.reset()
            conn = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn = conn
            self.events.append("inserted")
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        return {"ok": True}

    def remove(self, why: str) -> None:
        with self.lock:
            conn, self.conn = self.conn, None
            if conn is None:
                return
            self.powered = False
            self.after_apdus = self.on_ins = None
            self.events.append(why)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()

    # -- the card side of vpcd ----------------------------------------------------------------------------
    @staticmethod
    def _recv_exact(conn: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("vpcd closed the connection")
            buf += chunk
        return buf

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                with contextlib.suppress(OSError):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                (length,) = struct.unpack(">H", self._recv_exact(conn, 2))
                payload = self._recv_exact(conn, length)
                reply = self._answer(payload)
                if reply is None:
                    continue
                conn.sendall(struct.pack(">H", len(reply)) + reply)
        except (OSError, ConnectionError):
            pass
        finally:
            if self.conn is conn:
                self.remove("connection closed")

    def _answer(self, payload: bytes) -> bytes | None:
        with self.lock:
            applet = self.applet
            assert applet is not None
            if len(payload) == 1:
                code = payload[0]
                if code == 4:
                    return bytes.fromhex(applet.profile.atr)
                if code == 0:
                    self.powered = False
                    applet.reset()
                    self.events.append("power-off")
                elif code == 1:
                    self.powered = True
                    self.events.append("power-on")
                elif code == 2:
                    applet.reset()
                    self.events.append("reset")
                return None
            self.apdus.append(payload.hex().upper())
            pull = False
            if self.after_apdus is not None:
                self.after_apdus -= 1
                pull = self.after_apdus <= 0
            if self.on_ins is not None and len(payload) > 1 and payload[1] == self.on_ins:
                pull = True
            if not pull:
                return applet.process(payload)
        self.remove("pulled out during an APDU")
        raise ConnectionError("card pulled out")


def _control_loop(card: VirtualCard, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_control_client, args=(card, client), daemon=True).start()


def _control_client(card: VirtualCard, client: socket.socket) -> None:
    with client, client.makefile("rwb") as f:
        for line in f:
            try:
                reply = card.handle(json.loads(line))
            except Exception as exc:  # report to the test, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            f.write(json.dumps(reply).encode() + b"\n")
            f.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control", required=True)
    args = parser.parse_args()
    _control_loop(VirtualCard(args.port), args.control)


if __name__ == "__main__":
    main()
