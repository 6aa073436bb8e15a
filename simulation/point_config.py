"""The sample point configuration addressed to a simulated point: what the provisioning tests send as a
bundle and what the fuzz campaign (:mod:`simulation.fuzz`) mutates. Here rather than in the provisioning
tests' conftest, because bench/fuzz.py needs it too and must not import the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from provisioning.fleet import _jsonable

SAMPLE = Path(__file__).resolve().parents[1] / "etapiste" / "config" / "sample-point.yaml"


def config_for(point_id: str, switchboard_port: int, **changes: Any) -> dict[str, Any]:
    """The sample configuration, addressed to ``point_id`` and to a switchboard on ``switchboard_port``."""
    data: dict[str, Any] = _jsonable(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")))
    data["point"] = {"id": point_id, "group": "test-group"}
    data["switchboard"] = {"url": f"ws://127.0.0.1:{switchboard_port}/ws/point", "credential_file": "/dev/null"}
    data.update(changes)
    return data
