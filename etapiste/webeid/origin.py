"""Which site a Web eID proof is bound to: the origin rules the point and the switchboard share.

The card signs ``H(origin) ‖ H(nonce)``; a proof is only as good as the origin it names. The point derives
the origin from the switchboard URL it is configured to reach (:func:`switchboard_origin`), the point's
configuration check refuses a URL no trustworthy origin follows from, and the switchboard checks its own
configured origin and every validation with :func:`check_origin`: one rule in one place, so they cannot
disagree.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class ProofInputError(ValueError):
    """An origin or a nonce that no Web eID token can be made or checked for.

    The kiosk and the switchboard hand these values over (the switchboard's configured origin, the nonce it
    issued); neither holds anything of a customer, so the message may name the value and be logged."""


#: Hosts a browser counts as a secure context over plain http (W3C Secure Contexts, "potentially
#: trustworthy origin"): only the machine itself.
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1``: traffic that never leaves the machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_origin(origin: str) -> str:
    """An origin as Web eID signs it: ``https://host[:port]``, no path, no trailing slash.

    Plain ``http://`` is accepted for loopback hosts only (``localhost``, 127.0.0.0/8, ``::1``). This is
    the W3C Secure Contexts rule that browsers apply, under which the Web eID extension itself works on
    ``http://localhost``: nothing on the wire can be read or changed there, so the origin is as
    trustworthy as an https one. It lets a switchboard on one machine (the demo, development) take
    proofs; every other host still needs https, because a proof bound to an http origin could be
    relayed by anyone on the path. The kiosk (before the card signs) and the switchboard (its configured
    origin, and each validation) both check with this one function, so they cannot disagree.
    """
    parts = urlsplit(origin)
    try:
        port_ok = parts.port is not None or ":" not in parts.netloc.rsplit("]", 1)[-1]
    except ValueError:
        port_ok = False
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname is not None and is_loopback_host(parts.hostname)
    )
    if (
        not secure
        or not parts.hostname
        or not port_ok
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or origin != origin.strip()
    ):
        raise ProofInputError(
            f"not an https origin (https://host[:port], no path; http only for localhost, 127.0.0.0/8, ::1): "
            f"{origin!r}"
        )
    return origin


def switchboard_origin(url: str) -> str:
    """The origin a point signs identity proofs for: derived from the switchboard URL it is configured to
    reach (``wss://host[:port]/…`` → ``https://host[:port]``; ``ws://`` → ``http://``, loopback only), never
    from what the switchboard says. Host in lower case, the scheme's default port left out, as browsers
    write origins. ``ProofInputError`` for a URL no trustworthy origin follows from (``ws://`` off the
    machine, userinfo, no host); :func:`check_origin` decides, so the point, its configuration check and
    the switchboard apply one rule."""
    parts = urlsplit(url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme)
    rule = "the switchboard URL must be wss://host[:port]/… (ws:// only for a switchboard on this machine: "
    rule += "localhost, 127.0.0.0/8, ::1)"
    try:
        port = parts.port
    except ValueError:
        raise ProofInputError(f"{rule}; the port is not valid: {url!r}") from None
    if scheme is None or not parts.hostname or parts.username or parts.password:
        raise ProofInputError(f"{rule}: {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if scheme == "https" else 80
    origin = f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"
    try:
        return check_origin(origin)
    except ProofInputError:
        raise ProofInputError(f"{rule}: {url!r}") from None


def same_origin(a: str, b: str) -> bool:
    """Do two origins name the same site (scheme, host in any case, port with the default written or not)?"""

    def key(origin: str) -> tuple[str, str, int] | None:
        parts = urlsplit(origin)
        try:
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            return None
        return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)

    return key(a) is not None and key(a) == key(b)
