"""Short-lived TURN credentials with coturn's shared-secret scheme (``use-auth-secret``).

username = ``<expiry-unix-time>:<participant>``, password = Base64(HMAC-SHA1(secret, username)). coturn
recomputes the password from the secret it shares with the switchboard and refuses expired usernames, so
nothing per call needs to reach coturn and a leaked credential dies by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from etapiste.protocol import IceServer, Role
from switchboard.config import SwitchboardConfig


def turn_credential(secret: str, participant: str, now: float, ttl_s: int) -> tuple[str, str]:
    username = f"{int(now) + ttl_s}:{participant}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


#: The roles whose connections carry a call's media. An organiser's desk only shows the fleet: a relay
#: credential there would be one more to leak (a free relay for its lifetime) and nothing to use.
MEDIA_ROLES = frozenset({"point", "agent", "interpreter"})


def ice_servers(config: SwitchboardConfig, participant: str, now: float, *, role: Role) -> tuple[list[IceServer], int]:
    """The ICE servers a participant gets in ``welcome`` and ``call.start``, and their lifetime in seconds;
    none at all for a role that carries no media."""
    if role not in MEDIA_ROLES:
        return [], 0
    servers: list[IceServer] = []
    if config.stun_urls:
        servers.append(IceServer(urls=list(config.stun_urls)))
    if config.turn is None:
        return servers, 0
    user, password = turn_credential(config.turn.shared_secret(), participant, now, config.turn.ttl_s)
    servers.append(IceServer(urls=list(config.turn.urls), username=user, credential=password))
    return servers, config.turn.ttl_s
