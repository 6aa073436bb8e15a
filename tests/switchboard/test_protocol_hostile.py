"""Deeply nested JSON — about a kilobyte of brackets — at every JSON parser the switchboard exposes: the
point and desk sockets before and after hello, and the login. Each is answered as malformed (the socket
stays usable where it was), never with a traceback, a 500 or a silently dropped connection."""

from __future__ import annotations

import json

import aiohttp
import pytest

from etapiste import protocol as p
from etapiste import safejson
from simulation.switchboard import PASSWORDS, Client, serve, start_call

#: 1000 levels: past the interpreter's recursion limit, 2 KB on the wire.
DEEP = "[" * 1000 + "]" * 1000
#: Parses in the standard library, but far deeper than any message: refused before anything walks it.
MIDDLING = "[" * 200 + "]" * 200


def nested_frame(kind: str, field: str, nesting: str = DEEP) -> str:
    return f'{{"type": "{kind}", "{field}": ' + nesting + "}"


@pytest.mark.parametrize("nesting", [DEEP, MIDDLING, "{" + '"a":{' * 999 + "}" * 1000])
@pytest.mark.parametrize("parse", [p.parse_signal, p.parse_data])
def test_nested_json_is_a_malformed_frame_not_an_exception(parse, nesting):
    for frame in (nesting, nested_frame("rtt", "text", nesting), nesting.encode()):
        with pytest.raises(p.ProtocolError) as caught:
            parse(frame)
        assert caught.value.code == "malformed"
        assert "nested deeper than 32 levels" in caught.value.message


def test_the_nesting_limit_leaves_every_real_message_alone():
    snapshot = p.QueueSnapshot(
        queues=[p.QueueView(queue="q", producer="kela", open=True,
                            entries=[p.QueueEntry(ticket="t-1", point="pt", language="fi", waited_s=3)])]
    )  # fmt: skip
    assert p.parse_signal(p.encode(snapshot)) == snapshot
    assert safejson.loads("[" * 32 + "]" * 32) is not None
    with pytest.raises(safejson.JsonTooDeep):
        safejson.loads("[" * 33 + "]" * 33)
    with pytest.raises(ValueError):  # the callers' existing "not JSON" handling covers it
        safejson.loads(DEEP)


async def test_a_nested_hello_on_the_point_socket_is_answered_malformed_and_closed():
    async with serve() as sb:
        ws = await sb.session.ws_connect(f"{sb.base}/ws/point")
        client = Client(ws)
        await client.send(nested_frame("hello.point", "point"))
        error = await client.expect("error")
        assert error.code == "malformed"
        assert await client.closed()
        # The switchboard is none the worse: a real point still gets in.
        point = await sb.point("oulu-kirjasto")
        assert (await point.expect("welcome")).you == "point-oulu-kirjasto"


async def test_a_nested_hello_on_the_desk_socket_is_answered_malformed_and_closed():
    async with serve() as sb:
        http = await sb.login("anna")
        try:
            ws = await http.ws_connect(f"{sb.base}/ws/desk")
            client = Client(ws)
            await client.send(DEEP)
            assert (await client.expect("error")).code == "malformed"
            assert await client.closed()
        finally:
            await http.close()


async def test_nested_frames_in_a_call_are_malformed_and_the_call_goes_on():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        await point.send(nested_frame("signal.ice", "candidate"))
        error = await point.expect("error")
        assert error.code == "malformed", error
        await desk.send('{"type": "identity.start", "call": ' + DEEP + "}")
        assert (await desk.expect("error")).code == "malformed"
        # Both sockets are still in the call: signalling keeps flowing both ways.
        await point.send(p.Ice(call=start.call, peer=start.offer_to[0], candidate=None))
        assert (await desk.expect("signal.ice")).peer == start.you
        await desk.send(p.Hangup(call=start.call))
        assert (await point.expect("call.ended")).reason == "hangup"


async def test_a_nested_login_body_is_a_400_malformed_not_a_server_error():
    async with serve() as sb, aiohttp.ClientSession(headers={"Origin": sb.hub.config.origin}) as http:
        body = '{"username": "anna", "password": ' + DEEP + "}"
        async with http.post(
            f"{sb.base}/api/login", data=body, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
            assert await r.json() == {"error": "malformed"}
        async with http.post(
            f"{sb.base}/api/login", data=json.dumps({"username": "anna", "password": PASSWORDS["anna"]}),
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 200
