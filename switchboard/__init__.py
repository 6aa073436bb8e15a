"""The organiser's switchboard: signalling, producer queues, TURN credentials, identity-proof
verification, and the producer desk web page.

Modules, one concept each: :mod:`~switchboard.config` (its YAML), :mod:`~switchboard.credentials`
(password and point-credential hashes), :mod:`~switchboard.state` (shared state behind one interface),
:mod:`~switchboard.hub` (queues, calls, relay, interpreters, identity), :mod:`~switchboard.identity`
(nonces, the Web eID validator binding), :mod:`~switchboard.turn` (coturn credentials),
:mod:`~switchboard.web` (HTTP, WebSockets, the desk pages in ``desk/``), :mod:`~switchboard.cli`.
The wire protocol itself is :mod:`etapiste.protocol`, shared with the kiosk.
"""

from switchboard.config import SwitchboardConfig, SwitchboardConfigError, load_config
from switchboard.hub import Hub
from switchboard.state import MemoryState, StateStore
from switchboard.web import create_app

__all__ = [
    "Hub",
    "MemoryState",
    "StateStore",
    "SwitchboardConfig",
    "SwitchboardConfigError",
    "create_app",
    "load_config",
]
