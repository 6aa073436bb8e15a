"""Out of service that lasts: the agent holds it in its state directory until someone clears it.

The kiosk's memory is the wrong place for it: the nightly restart, a configuration reload or a crash would
silently put a broken room back in service. The agent outlives the kiosk and keeps its state directory
across reboots, so it holds the state (who set it, when, and the message) in ``out_of_service.json``,
tells the kiosk after every connect (and answers the kiosk's ``ask`` before its first frame), and reports
it in its state (``etapiste ops status``). Staff at the screen, ops (a signed command) and the switchboard's
host view set and clear it (the view's order reaches the kiosk as ``room.service`` and comes here as the
staff's: :mod:`kiosk.room`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioning.kiosk_link import Service, ServiceBy

log = logging.getLogger(__name__)

FILE_NAME = "out_of_service.json"


class OutOfServiceStore:
    """The held state: ``Service(on=False)`` until set; every change is written before it is told."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE_NAME
        self.current = self._load()

    def _load(self) -> Service:
        try:
            return Service.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return Service(op="service", on=False)
        except (OSError, ValidationError, ValueError) as exc:
            # A damaged file must not put a room that staff closed back in service: stay out of service.
            log.error("out-of-service state unreadable (%s): the point stays out of service", type(exc).__name__)
            return Service(op="service", on=True, message=None, by="ops")

    def set(self, on: bool, message: Any, by: ServiceBy) -> Service:
        """Hold a new state (written atomically: a power cut leaves the old one or the new one)."""
        since = dt.datetime.now(dt.UTC).replace(microsecond=0) if on else None
        new = Service(op="service", on=on, message=message if on else None, by=by if on else None, since=since)
        tmp = self.path.with_suffix(".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(new.model_dump_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.current = new
        return new

    def report(self) -> dict[str, Any] | None:
        """What the agent's state says (``None``: in service)."""
        c = self.current
        if not c.on:
            return None
        since = c.since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if c.since else None
        return {"on": True, "message": json.loads(json.dumps(c.message)), "by": c.by, "since": since}
