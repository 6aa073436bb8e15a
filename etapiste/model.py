"""The base every configuration and message model of the product derives from, and the id every part agrees on.

Frozen and strict (``extra="forbid"``): a running part never edits what it was given (a new configuration
replaces the old one whole), and a misspelt field is an error at the boundary rather than a value silently
ignored. One base, so the point's configuration, the switchboard's, the agent's commands and the kiosk
link's messages cannot drift apart in how strict they are.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: A configured identifier (point, group, producer, queue): lowercase letters, digits and dashes, 2–63
#: characters, starting with a letter or digit. It is an MQTT topic level, a statistics key and a switchboard
#: queue name at once, which is why one pattern serves them all.
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class FrozenModel(BaseModel):
    """A validated, immutable value: unknown fields are refused, fields cannot be reassigned."""

    model_config = ConfigDict(extra="forbid", frozen=True)
