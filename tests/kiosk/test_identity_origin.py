"""The point signs identity proofs only for the switchboard it is configured to reach.

The origin a card signs for is derived from the configured switchboard URL (``wss://host:port`` →
``https://host:port``; on loopback ``ws://127.0.0.1:port`` → ``http://127.0.0.1:port``), never taken from
what the switchboard says: a compromised or impersonated switchboard naming another site would otherwise get
the customer's PIN-1 authentication for that site. An identification request naming another origin is
refused: the card is never asked, the customer is told, the agent sees ``origin_mismatch``.
"""

from __future__ import annotations

import pytest

from etapiste import protocol as p
from etapiste.webeid.origin import ProofInputError, switchboard_origin
from kiosk.call import IdentifyRefused, IdentifyRequested
from simulation.call import connected_call
from simulation.switchboard import make_config, serve


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("wss://switchboard.example.fi/ws/point", "https://switchboard.example.fi"),
        ("wss://switchboard.example.fi:443/ws/point", "https://switchboard.example.fi"),
        ("wss://Switchboard.Example.FI:8443/ws/point", "https://switchboard.example.fi:8443"),
        ("ws://127.0.0.1:8443/ws/point", "http://127.0.0.1:8443"),
        ("ws://localhost/ws/point", "http://localhost"),
        ("ws://[::1]:8443/ws/point", "http://[::1]:8443"),
    ],
)
def test_the_signed_origin_is_derived_from_the_switchboard_url(url: str, origin: str) -> None:
    assert switchboard_origin(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "ws://switchboard.example.fi/ws/point",  # plain ws off the machine: anyone on the path could relay
        "ws://10.0.0.5:8443/ws/point",
        "http://switchboard.example.fi/ws/point",
        "wss://user@switchboard.example.fi/ws/point",
        "wss:///ws/point",
        "wss://switchboard.example.fi:99999/ws/point",
    ],
)
def test_a_switchboard_url_no_origin_can_be_derived_from_is_refused(url: str) -> None:
    with pytest.raises(ProofInputError, match="switchboard"):
        switchboard_origin(url)


@pytest.mark.usefixtures("loopback_ice")
async def test_a_request_naming_another_origin_is_refused_and_the_agent_told():
    """The switchboard (compromised, or a look-alike) asks the point to sign for another site: here another
    site on this machine (an https origin would make the test switchboard's session cookie Secure, which
    its plain-http test client could not send back; the point's check is the same for any origin)."""
    phishing = make_config(origin="http://127.0.0.1:9")
    async with serve(phishing) as sb, connected_call(sb) as (_engine, events, agent):
        await agent.send(p.IdentityStart(call=agent.call))
        refused = await events.first(IdentifyRefused)
        assert refused.reason == "origin_mismatch"
        verdict = (await agent.until(lambda: agent.seen("identity.result"), what="identity.result"))[0]
        assert not verdict.ok and verdict.reason == "origin_mismatch"
        status = await agent.until(lambda: agent.data_seen("identity.status"), what="identity.status")
        assert status[-1].state == "failed" and status[-1].reason == "origin_mismatch"
        assert not events.of(IdentifyRequested), "the customer was never asked for the card or the PIN"


@pytest.mark.usefixtures("loopback_ice")
async def test_a_request_for_the_configured_switchboards_own_origin_reaches_the_customer():
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        await agent.send(p.IdentityStart(call=agent.call))
        asked = await events.first(IdentifyRequested)
        assert asked.origin == switchboard_origin(engine.url) == sb.base
        assert not events.of(IdentifyRefused)
