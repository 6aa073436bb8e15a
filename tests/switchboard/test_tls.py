"""With ``tls`` configured the switchboard serves HTTPS and WSS itself; points and desks connect over TLS
and plain HTTP is not answered."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from etapiste import protocol as p
from simulation.services.common import free_port
from simulation.switchboard import PASSWORDS, POINT_CREDENTIALS, make_config
from switchboard.web import create_app, ssl_context


def _self_signed(directory: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchboard.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "sb.crt", directory / "sb.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


async def test_point_and_desk_page_over_tls(tmp_path):
    cert_file, key_file = _self_signed(tmp_path)
    port = free_port()
    config = make_config(tls={"cert_file": cert_file, "key_file": key_file}, origin=f"https://localhost:{port}")
    runner = web.AppRunner(create_app(config, sweep_interval=None))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context(config)).start()
    client_tls = ssl.create_default_context(cafile=cert_file)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as http:
            async with http.get(f"https://localhost:{port}/") as r:
                assert r.status == 200 and "<html" in await r.text()
            login = {"username": "anna", "password": PASSWORDS["anna"]}
            origin = {"Origin": config.origin}
            async with http.post(f"https://localhost:{port}/api/login", json=login, headers=origin) as r:
                cookie = r.headers["Set-Cookie"]
                assert r.status == 200 and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
            ws = await http.ws_connect(f"wss://localhost:{port}/ws/point")
            await ws.send_str(
                p.encode(p.PointHello(protocol=1, point="oulu-kirjasto", credential=POINT_CREDENTIALS["oulu-kirjasto"]))
            )
            welcome = p.parse_signal((await ws.receive(timeout=5)).data)
            assert welcome.type == "welcome" and welcome.origin == f"https://localhost:{port}"
            await ws.close()
        async with aiohttp.ClientSession() as plain:
            with pytest.raises(aiohttp.ClientError):
                async with plain.get(f"http://localhost:{port}/healthz") as r:
                    await r.read()
    finally:
        await runner.cleanup()
