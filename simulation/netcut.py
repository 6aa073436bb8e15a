"""The point's network, cut and restored, for the chaos soak: the kiosk alone loses it, the switchboard and the
desks keep theirs, although all of them run in one process on one loopback.

How. The soak runs in a network namespace of its own (:func:`enter_private_network`: nothing it does touches
the machine's own network) whose loopback also carries :data:`POINT_ADDRESS`. The point's traffic, and only
the point's, uses that address: its ICE candidates (the point is the side that offers, so its ICE agent is
the controlling one, :func:`point_on_its_own_address`) and its signalling socket (the switchboard listens on
that address too, for the point alone). A cut is an nftables rule in the namespace that drops every packet
from or to that address as it arrives (:class:`NetworkCut`): silently, as a cable pulled out somewhere on the
way — neither end gets an error, both have to find out by their own timers, as in a library whose router
reboots. Restoring deletes the rule; what was in flight is lost, what is sent again arrives.

The point's provisioning agent reaches the broker on that address too (the soak's mosquitto listens on every
address of the namespace's loopback), so its MQTT is cut with the rest; the ops side keeps 127.0.0.1.
"""

from __future__ import annotations

import contextvars
import ctypes
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

#: The point's own address on the namespace's loopback (the desks and the switchboard keep 127.0.0.1).
POINT_ADDRESS = "127.0.0.2"
OTHERS_ADDRESS = "127.0.0.1"
_TABLE = "etapiste_netcut"
_CLONE_NEWNET = 0x40000000
_ENV = "ETAPISTE_PRIVATE_NETWORK"


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)}: {(done.stderr or done.stdout).strip() or done.returncode}")


def enter_private_network() -> str | None:
    """Move this process (its calling thread and every thread and child it starts from now on) into a network
    namespace of its own with loopback up and :data:`POINT_ADDRESS` on it. Call it first, before any service
    or thread starts. Returns why it could not (``None``: done), and then nothing was changed."""
    if os.environ.get(_ENV) == str(os.getpid()):
        return None
    if os.geteuid() != 0:
        return "needs root (a network namespace of its own and nftables)"
    if shutil.which("nft") is None or shutil.which("ip") is None:
        return "needs nft (Debian's nftables) and ip (iproute2)"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    try:
        _run("ip", "link", "set", "lo", "up")
        _run("ip", "addr", "add", f"{POINT_ADDRESS}/32", "dev", "lo")
        _run("nft", "list", "tables")  # nftables usable in this namespace (the kernel's nf_tables)
    except OSError as e:
        return f"the private network could not be set up: {e}"
    os.environ[_ENV] = str(os.getpid())
    return None


def in_private_network() -> bool:
    """Whether :func:`enter_private_network` made this process's network (a cut is possible)."""
    return os.environ.get(_ENV) == str(os.getpid())


class NetworkCut:
    """Cut and restore :data:`POINT_ADDRESS`'s packets in this process's private network."""

    def __init__(self) -> None:
        if not in_private_network():
            raise RuntimeError("not in the soak's private network (enter_private_network first)")
        self.cut_now = False

    def cut(self) -> None:
        rules = (
            f"add table inet {_TABLE}\n"
            f"add chain inet {_TABLE} incoming {{ type filter hook input priority 0 ; }}\n"
            f"add rule inet {_TABLE} incoming ip saddr {POINT_ADDRESS} drop\n"
            f"add rule inet {_TABLE} incoming ip daddr {POINT_ADDRESS} drop\n"
        )
        done = subprocess.run(["nft", "-f", "-"], input=rules, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise OSError(f"nft: {done.stderr.strip()}")
        self.cut_now = True

    def restore(self) -> None:
        if self.cut_now:
            _run("nft", "delete", "table", "inet", _TABLE)
            self.cut_now = False


_side: contextvars.ContextVar[str] = contextvars.ContextVar("netcut_side", default=OTHERS_ADDRESS)


def point_on_its_own_address() -> None:
    """aioice gathers the point's candidates on :data:`POINT_ADDRESS` and everyone else's on 127.0.0.1: the
    point always offers, so its ICE agent is the controlling one when it gathers (aiortc sets the role first)."""
    import aioice.ice

    connection: Any = aioice.ice.Connection
    if getattr(connection.gather_candidates, "_netcut", False):
        return
    original: Callable[[Any], Awaitable[None]] = connection.gather_candidates

    async def gather_candidates(self: Any) -> None:
        token = _side.set(POINT_ADDRESS if self.ice_controlling else OTHERS_ADDRESS)
        try:
            await original(self)
        finally:
            _side.reset(token)

    def host_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
        return [_side.get()]

    gather_candidates._netcut = True  # type: ignore[attr-defined]
    connection.gather_candidates = gather_candidates
    aioice.ice.get_host_addresses = host_addresses
