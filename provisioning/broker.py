"""The fleet's MQTT topics and the broker's access rules (mosquitto).

One module names every topic so the agent, the ops tool, the broker's ACL and the tests cannot drift
apart. Every point logs in with its own username (= its point id) and the broker is configured with
``use_username_as_clientid true``: without it one point could connect with another's client id, kick
it off and wipe its queued commands. Access is granted by ``%u`` (the authenticated username), never by
``%c`` (the client id, which a client chooses).

Topics (all under ``etapiste/``):

=============================  ==========  =================================================  ========
topic                          direction   payload                                            retained
=============================  ==========  =================================================  ========
``point/<id>/desired``         ops → point the signed bundle (:mod:`provisioning.bundle`)        yes
``point/<id>/command``         ops → point a remote command (QoS 1, persistent session)         no
``point/<id>/ack``             point → ops the command's acknowledged result (QoS 1)             no
``point/<id>/state``           point → ops reported state (version, health, uptime, last error)  yes
``point/<id>/online``          point → ops ``true`` / ``false``; the last will writes ``false``   yes
``point/<id>/stats``           point → ops anonymous statistics, per day and producer            yes
``point/<id>/alert``           point → ops an alert for the host's staff (:mod:`provisioning.alerts`)  no
``point/<id>/alert_ack``       ops → point the notifier accepted that alert (by its id, QoS 1)     no
=============================  ==========  =================================================  ========

Alerts (device faults, a kiosk crash loop, a customer asking for the staff's help) are read by the
organiser's notifier (``etapiste ops notifier``, :mod:`provisioning.notifier`), which logs in as
:data:`NOTIFIER_USER`: it reads alerts, ``online`` and ``state`` and writes only acknowledgements of alerts.

A bundle is always addressed to one point (its resolved configuration names the point), so a publish
to a group or to the whole fleet writes each member's own ``desired`` topic; a shared group topic would
hand every point its neighbours' configuration (staff PIN hashes included).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import ssl

from etapiste.model import ID_PATTERN

PREFIX = "etapiste"

#: The organiser's ops username; it may read and write every fleet topic. No point may be called this.
OPS_USER = "ops"

#: The statistics collector's username (``etapiste ops collect``): it may only read points' statistics. A
#: long-running service on a server should not hold a login that can rewrite every point's topics, and
#: with ``use_username_as_clientid`` it must not share ``ops`` (each ``ops status`` would kick it off).
COLLECTOR_USER = "collector"

#: mosquitto's ``max_packet_size``: the largest MQTT packet the broker takes from anyone. It must hold the
#: largest bundle a point accepts (``provisioning.bundle.MAX_BUNDLE_BYTES``, 512 KiB) with its topic and
#: headers; everything else is far smaller (an acknowledgement ≤ 256 KiB, state and statistics a few KiB).
#: Without it one ops login, or one point on its own state topic, could park megabytes as a retained
#: message that the broker keeps and hands to every subscriber.
MAX_PACKET_BYTES = 640 * 1024

#: The alert notifier's username (``etapiste ops notifier``): reads the points' alerts, online flags and states,
#: writes only ``alert_ack``. A mail-sending service needs no login that can command or reconfigure points.
NOTIFIER_USER = "notifier"

KINDS = ("desired", "command", "ack", "state", "online", "stats", "alert", "alert_ack")

_POINT_ID = re.compile(ID_PATTERN)


def topic(point_id: str, kind: str) -> str:
    """The topic of ``kind`` (desired, command, ack, state, online, stats, alert, alert_ack) for one point."""
    if kind not in KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/point/{point_id}/{kind}"


def all_points(kind: str) -> str:
    """The wildcard subscription the ops tool uses to read ``kind`` from every point."""
    return f"{PREFIX}/point/+/{kind}"


def point_of(topic_name: str) -> str | None:
    """The point id in a fleet topic, or ``None`` if the topic is not a point topic."""
    parts = topic_name.split("/")
    if len(parts) == 4 and parts[0] == PREFIX and parts[1] == "point":
        return parts[2]
    return None


def check_point_id(point_id: str) -> str:
    """A point id is its MQTT username: lowercase letters, digits and dashes, never the ops user."""
    if not _POINT_ID.match(point_id) or point_id in (OPS_USER, COLLECTOR_USER, NOTIFIER_USER):
        raise ValueError(
            f"{point_id!r} cannot be a point id: use 2–63 lowercase letters, digits and dashes"
            f" (and not {OPS_USER!r}, {COLLECTOR_USER!r} or {NOTIFIER_USER!r})"
        )
    return point_id


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback address (never resolved through DNS)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, tls: ssl.SSLContext | None) -> None:
    """Refuse plain MQTT to a broker that is not on this machine.

    Over plain MQTT the point's broker password, its configuration (staff PIN hash included) and
    everything it reports cross the network readable and alterable. A broker on loopback (the tests,
    the demo, a local bridge) never leaves the machine, so it may go without TLS; anything else must
    use ``mqtts://``. There is deliberately no override flag: a flag set "for a test" ends up on points.
    """
    if tls is None and not is_loopback(host):
        raise ValueError(
            f"plain mqtt:// to {host} would send the point's password and configuration unencrypted;"
            " use mqtts://host:port (plain mqtt:// is accepted only for a broker on this machine, 127.0.0.1)"
        )


def acl(
    ops_users: tuple[str, ...] = (OPS_USER,),
    collectors: tuple[str, ...] = (COLLECTOR_USER,),
    notifiers: tuple[str, ...] = (NOTIFIER_USER,),
) -> str:
    """The broker's ``acl_file``. Each operator (and each ops tool instance running at the same time)
    needs an own username: with ``use_username_as_clientid`` two sessions of one username replace each
    other."""
    ops = "".join(f"user {u}\ntopic readwrite {PREFIX}/#\n\n" for u in ops_users)
    ops += "".join(f"user {u}\ntopic read {PREFIX}/point/+/stats\n\n" for u in collectors)
    ops += "".join(
        f"user {u}\ntopic read {PREFIX}/point/+/alert\ntopic read {PREFIX}/point/+/online\n"
        f"topic read {PREFIX}/point/+/state\ntopic write {PREFIX}/point/+/alert_ack\n\n"
        for u in notifiers
    )
    return f"""\
# etapiste fleet ACL (mosquitto acl_file). Generated by provisioning.broker; see docs/ops-guide.md.
# The organiser's ops accounts read and write every fleet topic; the statistics collector only reads
# the points' statistics; the alert notifier reads alerts, online flags and states and writes only
# acknowledgements of alerts.
{ops}\
# Every point, by its authenticated username (%u, never %c): reads only its own configuration and
# commands, writes only its own state, acknowledgements and statistics.
pattern read {PREFIX}/point/%u/desired
pattern read {PREFIX}/point/%u/command
pattern read {PREFIX}/point/%u/alert_ack
pattern write {PREFIX}/point/%u/ack
pattern write {PREFIX}/point/%u/state
pattern write {PREFIX}/point/%u/online
pattern write {PREFIX}/point/%u/stats
pattern write {PREFIX}/point/%u/alert
"""


ACL = acl()


def password_line(username: str, password: str, *, iterations: int = 101) -> str:
    """One ``password_file`` line in mosquitto 2's PBKDF2-SHA512 format (what ``mosquitto_passwd`` writes).

    Made here so that provisioning hundreds of points does not start hundreds of processes.
    """
    if ":" in username or not username:
        raise ValueError("a username cannot be empty or contain ':'")
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"{username}:$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def broker_config(
    *, port: int, password_file: str, acl_file: str, bind: str = "127.0.0.1", tls: tuple[str, str, str] | None = None
) -> str:
    """A minimal mosquitto.conf for the fleet; ``tls`` = (CA file, certificate file, key file).

    Listener options (``use_username_as_clientid``, the TLS files) must follow the ``listener`` line:
    set before it, mosquitto creates a default listener on port 1883 of every interface.
    """
    tls_lines = ""
    if tls is not None:
        tls_lines = f"cafile {tls[0]}\ncertfile {tls[1]}\nkeyfile {tls[2]}\ntls_version tlsv1.2\n"
    return f"""\
per_listener_settings false
allow_anonymous false
password_file {password_file}
acl_file {acl_file}
persistence false
max_queued_messages 1000
max_packet_size {MAX_PACKET_BYTES}
listener {port} {bind}
use_username_as_clientid true
{tls_lines}log_dest stdout
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
"""
