"""The point's switchboard URL: ``wss://`` (TLS) anywhere, plain ``ws://`` only for a switchboard on the same
machine (the demo, development) — the same loopback rule as the origin a card signs for, because the point
signs identity proofs for the origin derived from this URL (kiosk/call/signalling.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etapiste.config.loader import ConfigError
from etapiste.config.point import SAMPLE_CONFIG, parse_point_config

SAMPLE = (Path(__file__).parents[2] / "etapiste" / "config" / SAMPLE_CONFIG).read_text(encoding="utf-8")
URL_LINE = next(line for line in SAMPLE.splitlines() if line.strip().startswith("url: ws"))


def with_url(url: str) -> str:
    return SAMPLE.replace(URL_LINE, f"  url: {url}")


@pytest.mark.parametrize(
    "url",
    [
        "wss://switchboard.etapiste.fi/ws/point",
        "wss://switchboard.etapiste.fi:8443/ws/point",
        "ws://127.0.0.1:8443/ws/point",
        "ws://localhost:8443/ws/point",
        "ws://[::1]:8443/ws/point",
    ],
)
def test_tls_or_loopback_switchboard_urls_are_accepted(url: str) -> None:
    assert parse_point_config(with_url(url), "point.yaml").switchboard.url == url


@pytest.mark.parametrize(
    "url",
    [
        "ws://switchboard.etapiste.fi/ws/point",
        "ws://192.168.1.20:8443/ws/point",
        "ws://127.0.0.1.example.org/ws/point",
        "http://switchboard.etapiste.fi/ws/point",
        "wss://ops:secret@switchboard.etapiste.fi/ws/point",
        "wss:///ws/point",
    ],
)
def test_plain_ws_off_the_machine_and_other_unusable_urls_are_refused_with_what_to_do(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_point_config(with_url(url), "point.yaml")
    (problem,) = [str(p) for p in info.value.problems]
    assert "switchboard.url" in problem
    assert "wss://" in problem
