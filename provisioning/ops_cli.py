"""``etapiste ops``: the organiser's tool — keys, validation, signing, publishing, rollouts, fleet
status, remote commands and statistics. See docs/ops-guide.md for the workflow.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import secrets
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import yaml

from etapiste.config.loader import ConfigError
from etapiste.staffpin import MAX_DIGITS, MIN_DIGITS, hash_pin
from provisioning import broker
from provisioning.bundle import SigningKey, TrustStore, sign_bundle
from provisioning.command import MAX_VALIDITY, sign_command
from provisioning.fleet import Fleet
from provisioning.statistics import to_csv

FINAL = ("applied", "unchanged", "rejected", "rolled_back")


class OpsError(Exception):
    """A problem the operator must fix; printed without a traceback."""


# --------------------------------------------------------------------------------------------- offline


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    key_path, trust_path = out / f"{args.name}.key", out / f"{args.name}.trust.json"
    if key_path.exists():
        raise OpsError(f"{key_path} exists; choose another --name (keys are never overwritten)")
    key.save(key_path)
    trust_path.write_text(TrustStore.from_entries([key.public_entry()]).to_json() + "\n")
    (out / f"{args.name}.pub.json").write_text(json.dumps(key.public_entry()) + "\n")
    print(f"key id {key.keyid}")
    print(f"private key: {key_path} (keep it offline; mode 0600)")
    print(f"trust file for points: {trust_path}; key introduction entry: {out / (args.name + '.pub.json')}")
    return 0


def cmd_hash_pin(args: argparse.Namespace) -> int:
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(f"staff PIN ({MIN_DIGITS}–{MAX_DIGITS} digits): ")
        if getpass.getpass("again: ") != pin:
            raise OpsError("the two PINs differ")
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        raise OpsError(str(exc)) from None
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    fleet = Fleet(args.fleet)
    ids = args.points or fleet.point_ids()
    if not ids:
        raise OpsError(f"{fleet.root}/points/ has no point files")
    bad = 0
    for pid in ids:
        try:
            fleet.resolve(pid)
            print(f"{pid}: ok")
        except ConfigError as exc:
            bad += 1
            print(f"{pid}: {len(exc.problems)} problem(s)")
            for p in exc.problems:
                print(f"  {p}")
    print(f"{len(ids) - bad} valid, {bad} invalid")
    return 1 if bad else 0


def cmd_resolve(args: argparse.Namespace) -> int:
    resolved = Fleet(args.fleet).resolve(args.point)
    print(f"# {args.point}: " + " → ".join(resolved.layers))
    if args.format == "json":
        print(json.dumps(resolved.data, ensure_ascii=False, indent=2))
    else:
        print(yaml.safe_dump(resolved.data, allow_unicode=True, sort_keys=False, width=110), end="")
    return 0


def _key_changes(args: argparse.Namespace) -> dict[str, Any]:
    introduce = [json.loads(Path(p).read_text()) for p in (args.introduce or [])]
    return {"introduce": introduce or None, "retire": args.retire or None}


def _sign(fleet: Fleet, point: str, keys: list[SigningKey], version: int, args: argparse.Namespace) -> bytes:
    resolved = fleet.resolve(point)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=args.expires_days)
    doc = sign_bundle(resolved.data, version=version, expires=expires, keys=keys, **_key_changes(args))
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _keys(args: argparse.Namespace) -> list[SigningKey]:
    try:
        return [SigningKey.load(k) for k in args.key]
    except (OSError, ValueError) as exc:
        raise OpsError(f"cannot load the signing key: {exc}") from None


def cmd_sign(args: argparse.Namespace) -> int:
    payload = _sign(Fleet(args.fleet), args.point, _keys(args), args.version, args)
    if args.out:
        Path(args.out).write_bytes(payload)
    else:
        sys.stdout.write(payload.decode() + "\n")
    return 0


def cmd_broker_acl(args: argparse.Namespace) -> int:
    print(broker.ACL, end="")
    return 0


def cmd_broker_user(args: argparse.Namespace) -> int:
    """Add (or replace) a username in a mosquitto password file; print the new password once."""
    special = (broker.OPS_USER, broker.COLLECTOR_USER, broker.NOTIFIER_USER)
    user = args.username if args.username in special else broker.check_point_id(args.username)
    password = secrets.token_urlsafe(24)
    path = Path(args.passwd)
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if not line.startswith(f"{user}:")]
    lines.append(broker.password_line(user, password))
    path.write_text("\n".join(lines) + "\n")
    print(password)
    return 0


# --------------------------------------------------------------------------------------------- online


def _client(args: argparse.Namespace, **kw: Any) -> aiomqtt.Client:
    url = urlsplit(args.broker)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise OpsError(f"--broker {args.broker!r}: write it as mqtt://host:port or mqtts://host:port")
    tls = ssl.create_default_context(cafile=args.ca_file) if url.scheme == "mqtts" else None
    try:
        broker.check_transport(url.hostname, tls)  # the ops password is as sensitive as a point's
    except ValueError as exc:
        raise OpsError(f"--broker: {exc}") from None
    try:
        password = Path(args.password_file).read_text().strip()
    except OSError as exc:
        raise OpsError(f"--password-file {args.password_file}: {exc.strerror}") from None
    port = url.port or (8883 if tls else 1883)
    return aiomqtt.Client(url.hostname, port, username=args.username, password=password, tls_context=tls, **kw)


async def _retained(client: aiomqtt.Client, kind: str, quiet: float) -> dict[str, bytes]:
    """Every point's retained message of ``kind``: collect until the broker has been quiet for ``quiet`` s."""
    await client.subscribe(broker.all_points(kind), qos=1)
    got: dict[str, bytes] = {}
    messages = aiter(client.messages)
    while True:
        try:
            async with asyncio.timeout(quiet):
                m = await anext(messages)
        except TimeoutError:
            break
        point = broker.point_of(m.topic.value)
        if point is not None and isinstance(m.payload, bytes | bytearray) and m.payload:
            got[point] = bytes(m.payload)
    await client.unsubscribe(broker.all_points(kind))
    return got


def _targets(args: argparse.Namespace, fleet: Fleet) -> list[str]:
    if args.all:
        return fleet.point_ids()
    if args.group:
        members = fleet.group_members(args.group)
        if not members:
            raise OpsError(f"no point of the fleet is in group {args.group!r}")
        return members
    return list(args.point)


class _Watcher:
    """Follows the reported state of some points until each settles on a version."""

    def __init__(self, client: aiomqtt.Client):
        self.client = client
        self.states: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Event()

    async def run(self) -> None:
        async for m in self.client.messages:
            point = broker.point_of(m.topic.value)
            if point and m.topic.value.endswith("/state") and isinstance(m.payload, bytes | bytearray):
                try:
                    self.states[point] = json.loads(m.payload)
                except ValueError:
                    continue
                self._changed.set()

    def outcome(self, point: str, version: int) -> dict[str, Any] | None:
        last = (self.states.get(point) or {}).get("last_result") or {}
        if last.get("version") == version and last.get("status") in FINAL:
            return dict(last)
        if (self.states.get(point) or {}).get("applied_version") == version:
            return {"version": version, "status": "applied"}
        return None

    async def wait(self, versions: dict[str, int], timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            done = {p: o for p, v in versions.items() if (o := self.outcome(p, v)) is not None}
            left = deadline - time.monotonic()
            if len(done) == len(versions) or left <= 0:
                return done
            self._changed.clear()
            try:
                async with asyncio.timeout(left):
                    await self._changed.wait()
            except TimeoutError:
                pass


async def _publish(
    args: argparse.Namespace, fleet: Fleet, keys: list[SigningKey], client: aiomqtt.Client, points: list[str],
    current: dict[str, int],
) -> dict[str, int]:  # fmt: skip
    """Sign and publish each point's bundle (retained); returns the version given to each."""
    versions = {}
    for pid in points:
        version = args.version or max(int(time.time()), current.get(pid, 0) + 1)
        if version <= current.get(pid, 0):
            raise OpsError(f"{pid}: version {version} is not above the published {current[pid]}; use a higher one")
        payload = _sign(fleet, pid, keys, version, args)
        await client.publish(broker.topic(pid, "desired"), payload, qos=1, retain=True)
        versions[pid] = version
    return versions


def _current_versions(retained: dict[str, bytes]) -> dict[str, int]:
    out = {}
    for pid, payload in retained.items():
        try:
            out[pid] = int(json.loads(payload)["signed"]["version"])
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _report(outcomes: dict[str, dict[str, Any]], versions: dict[str, int]) -> int:
    bad = 0
    for pid in versions:
        o = outcomes.get(pid)
        if o is None:
            bad += 1
            print(f"{pid}: version {versions[pid]}: no answer (offline? it applies when it returns)")
        elif o["status"] in ("applied", "unchanged"):
            print(f"{pid}: version {versions[pid]}: {o['status']}")
        else:
            bad += 1
            print(f"{pid}: version {versions[pid]}: {o['status']} — {o.get('reason', '')}")
    return 1 if bad else 0


async def _publish_flow(args: argparse.Namespace, staged: bool) -> int:
    fleet = Fleet(args.fleet)
    keys = _keys(args)
    targets = _targets(args, fleet)
    for pid in targets:  # refuse to publish anything if any target is invalid
        fleet.resolve(pid)
    canaries: list[str] = []
    if staged:
        canaries = [c for c in args.canaries.split(",") if c]
        unknown = [c for c in canaries if c not in targets]
        if unknown or not canaries:
            raise OpsError(f"canaries must be points of the rollout (unknown: {', '.join(unknown) or 'none given'})")
    async with _client(args) as client:
        current = _current_versions(await _retained(client, "desired", 0.5))
        watcher = _Watcher(client)
        await client.subscribe(broker.all_points("state"), qos=1)
        task = asyncio.create_task(watcher.run())
        try:
            if staged:
                print(f"canaries: {', '.join(canaries)}")
                versions = await _publish(args, fleet, keys, client, canaries, current)
                outcomes = await watcher.wait(versions, args.timeout)
                if _report(outcomes, versions):
                    rest = [p for p in targets if p not in canaries]
                    print(f"rollout stopped: a canary failed; {len(rest)} point(s) left untouched")
                    return 1
                targets = [p for p in targets if p not in canaries]
                print(f"canaries healthy; publishing to the other {len(targets)} point(s)")
            versions = await _publish(args, fleet, keys, client, targets, current)
            if not args.wait and not staged:
                for pid, v in versions.items():
                    print(f"{pid}: version {v} published")
                return 0
            outcomes = await watcher.wait(versions, args.timeout)
            return _report(outcomes, versions)
        finally:
            task.cancel()


def _age(reported_at: str | None) -> str:
    if not reported_at:
        return "-"
    try:
        t = dt.datetime.strptime(reported_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return "?"
    s = int((dt.datetime.now(dt.UTC) - t).total_seconds())
    return f"{s}s ago" if s < 120 else f"{s // 60}min ago" if s < 7200 else f"{s // 3600}h ago"


def _update_cell(s: dict[str, Any]) -> str:
    """The point's software update as ops need it: what it runs toward, what happened, and why if it went
    wrong (the agent's ``software_update``, from provisioning/update.py and the root helper's status)."""
    u = s.get("software_update")
    if not isinstance(u, dict):
        return "-"  # this agent does not update software (development install)
    state, version, previous = u.get("state"), u.get("version") or "?", u.get("previous")
    reason = f": {u['reason']}" if u.get("reason") else ""
    desired, running = u.get("desired"), u.get("running")
    if u.get("action") == "security" and state in ("done", "failed", "unhealthy"):
        # What Debian's security updates changed: a CUPS or Qt library update is what ops look for.
        upgraded = f" ({u['upgraded']})" if u.get("upgraded") else ""
        if state == "done":
            return f"security updates {str(u.get('at') or '')[:10]} ok{upgraded or ' (none due)'}"
        return f"security updates {state.upper()}{upgraded}{reason}"
    if state == "done":
        return f"updated from {previous}" if previous and previous != version else "up to date"
    if state == "rolled-back":
        return f"ROLLED BACK from {version}{reason}"
    if state in ("refused", "failed", "unhealthy"):
        return f"{state.upper()} {version}{reason}"
    if state in ("checking-repository", "installing", "checking", "rolling-back", "security-updating"):
        return f"{state} {version}"
    if state == "requested":
        return f"{desired} requested"
    if desired and desired != running:
        return f"{desired} waits{reason}"
    return "up to date" if desired else "-"


def status_rows(states: dict[str, dict[str, Any]], online: dict[str, str]) -> list[list[str]]:
    rows = [["point", "online", "version", "health", "last seen", "last result", "software", "update"]]
    for pid in sorted(set(states) | set(online)):
        s = states.get(pid, {})
        kiosk = s.get("kiosk") or {}
        devices = kiosk.get("devices") or {}
        faulty = [f"{d}:{v.get('reason') or 'fault'}" for d, v in sorted(devices.items()) if not v.get("ok")]
        if not kiosk.get("connected"):
            health = "kiosk down"
        elif kiosk.get("healthy"):
            health = "ok" if not faulty else "degraded " + ",".join(faulty)
        else:
            health = "UNHEALTHY"
        staff = s.get("staff_pin") or {}
        if staff.get("lockouts"):  # five wrong staff PINs or more: someone is guessing, or staff forgot it
            health += f" ALERT:staff-PIN-{staff.get('failures')}-wrong"
            if (staff.get("locked_until") or "") > dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"):
                health += f"-locked-until-{staff['locked_until']}"
        oos = s.get("out_of_service")
        if isinstance(oos, dict) and oos.get("on"):  # held by the agent until someone clears it
            health += f" OUT-OF-SERVICE(by-{oos.get('by') or '?'}-since-{oos.get('since') or '?'})"
        alerts = s.get("open_alerts") or []
        if alerts:  # what the notifier mailed the host's staff about and is not fixed yet
            health += " ALERT:" + ",".join(str(a) for a in alerts)
        last = s.get("last_result") or {}
        result = f"{last.get('status', '-')} v{last.get('version')}" if last else "-"
        if last.get("status") in ("rejected", "rolled_back"):
            result += f" ({last.get('code')})"
        rows.append([pid, online.get(pid, "?"), str(s.get("applied_version", "-")), health,
                     _age(s.get("reported_at")), result, str(s.get("software") or "-"), _update_cell(s)])  # fmt: skip
    return rows


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


async def _status(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        states = {p: json.loads(v) for p, v in (await _retained(client, "state", args.quiet)).items()}
        online = {p: v.decode() for p, v in (await _retained(client, "online", args.quiet)).items()}
    if args.json:
        print(json.dumps({"states": states, "online": online}, indent=2))
    else:
        print(_table(status_rows(states, online)))
    return 0


async def _stats(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        reports = {p: json.loads(v) for p, v in (await _retained(client, "stats", args.quiet)).items()}
    text = to_csv(reports)
    if args.out:
        Path(args.out).write_text(text)
        print(f"{len(reports)} point(s) → {args.out}")
    else:
        sys.stdout.write(text)
    return 0


async def _command(args: argparse.Namespace) -> int:
    cmd_args: dict[str, Any] = {}
    if args.name == "out_of_service":
        if args.off:
            cmd_args = {"on": False}
        else:
            if not (args.message_fi and args.message_sv and args.message_en):
                raise OpsError("out_of_service needs --message-fi, --message-sv and --message-en (or --off)")
            cmd_args = {"on": True, "message": {"fi": args.message_fi, "sv": args.message_sv, "en": args.message_en}}
    if not 0 < args.valid_hours <= MAX_VALIDITY.total_seconds() / 3600:
        raise OpsError(f"--valid-hours must be more than 0 and at most {MAX_VALIDITY.total_seconds() / 3600:g}")
    cid = f"c-{uuid.uuid4().hex[:12]}"
    doc = sign_command(broker.check_point_id(args.point), args.name, cmd_args, keys=_keys(args),
                       valid_for=dt.timedelta(hours=args.valid_hours), command_id=cid)  # fmt: skip
    async with _client(args) as client:
        await client.subscribe(broker.topic(args.point, "ack"), qos=1)
        await client.publish(broker.topic(args.point, "command"), json.dumps(doc).encode(), qos=1)
        print(f"{args.point}: {args.name} sent as {cid} (valid {args.valid_hours:g} h)")
        if args.timeout <= 0:
            return 0
        try:
            async with asyncio.timeout(args.timeout):
                async for m in client.messages:
                    ack = json.loads(m.payload) if isinstance(m.payload, bytes | bytearray) else {}
                    if ack.get("id") == cid:
                        if ack["ok"]:
                            print(f"ok: {ack.get('detail', '')}")
                        elif ack.get("code"):
                            print(f"REFUSED ({ack['code']}): {ack.get('detail', '')}")
                        else:
                            print(f"FAILED: {ack.get('detail', '')}")
                        return 0 if ack["ok"] else 1
        except TimeoutError:
            print(f"no acknowledgement within {args.timeout:g} s; the point runs it when it is back online")
            return 3
    return 3


def _collect(args: argparse.Namespace) -> int:
    from provisioning import collect  # SQLAlchemy is imported only by the commands that need it

    try:
        return collect.main(args, lambda: _client(args))
    except collect.CollectError as exc:
        raise OpsError(str(exc)) from None


def _notifier(args: argparse.Namespace) -> int:
    from provisioning import notifier

    try:
        # A persistent session (the broker makes the client id the username anyway): an alert published
        # while the notifier restarts waits for it at the broker instead of being lost.
        return notifier.main(args, lambda: _client(args, identifier=args.username, clean_session=False))
    except notifier.NotifierError as exc:
        raise OpsError(str(exc)) from None


def _stats_report(args: argparse.Namespace) -> int:
    from provisioning import report

    try:
        return report.main(args)
    except ValueError as exc:  # ReportError, StatsError: what to fix, said plainly
        raise OpsError(str(exc)) from None


# --------------------------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="etapiste ops", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        return sp

    def fleet(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--fleet", required=True, help="fleet directory (defaults.yaml, groups/, points/)")

    def signing(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--key", action="append", required=True, help="organiser private key (repeatable)")
        sp.add_argument("--expires-days", type=float, default=30.0, help="bundle lifetime (default 30 days)")
        sp.add_argument("--introduce", action="append", help="a NAME.pub.json key to introduce to the points")
        sp.add_argument("--retire", action="append", help="a key id the points should stop trusting")

    def online(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
        sp.add_argument("--username", default=broker.OPS_USER)
        sp.add_argument("--password-file", required=True)
        sp.add_argument("--ca-file", help="CA bundle for mqtts://")

    def targets(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group(required=True)
        g.add_argument("--point", action="append", help="a point id (repeatable)")
        g.add_argument("--group", help="every point of a group")
        g.add_argument("--all", action="store_true", help="every point of the fleet")

    sp = add("keygen", cmd_keygen, "make an organiser signing key (Ed25519)")
    sp.add_argument("--out", required=True, help="directory for NAME.key, NAME.trust.json, NAME.pub.json")
    sp.add_argument("--name", default="organiser")
    sp = add("hash-pin", cmd_hash_pin, "print a staff.pin_hash for a staff PIN")
    sp.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")
    sp = add("validate", cmd_validate, "validate the fleet's points (all, or those named)")
    fleet(sp)
    sp.add_argument("points", nargs="*")
    sp = add("resolve", cmd_resolve, "print one point's effective configuration")
    fleet(sp)
    sp.add_argument("point")
    sp.add_argument("--format", choices=("yaml", "json"), default="yaml")
    sp = add("sign", cmd_sign, "sign one point's bundle to a file")
    fleet(sp)
    signing(sp)
    sp.add_argument("point")
    sp.add_argument("--version", type=int, required=True)
    sp.add_argument("--out")
    sp = add("publish", lambda a: asyncio.run(_publish_flow(a, staged=False)), "sign and publish to points")
    fleet(sp)
    signing(sp)
    online(sp)
    targets(sp)
    sp.add_argument("--version", type=int, help="default: the time in seconds, above every published version")
    sp.add_argument("--wait", action="store_true", help="wait for each point to apply or refuse")
    sp.add_argument("--timeout", type=float, default=120.0)
    sp = add("rollout", lambda a: asyncio.run(_publish_flow(a, staged=True)), "staged publish: canaries first")
    fleet(sp)
    signing(sp)
    online(sp)
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--group")
    g.add_argument("--all", action="store_true")
    sp.set_defaults(point=None, wait=True)
    sp.add_argument("--canaries", required=True, help="comma-separated point ids that go first")
    sp.add_argument("--version", type=int)
    sp.add_argument("--timeout", type=float, default=180.0, help="seconds a stage may take")
    sp = add("status", lambda a: asyncio.run(_status(a)), "fleet status table")
    online(sp)
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--quiet", type=float, default=0.5, help=argparse.SUPPRESS)
    sp = add("stats", lambda a: asyncio.run(_stats(a)), "export anonymous statistics as CSV")
    online(sp)
    sp.add_argument("--out", help="CSV file (default: standard output)")
    sp.add_argument("--quiet", type=float, default=0.5, help=argparse.SUPPRESS)
    sp = add("collect", _collect, "keep every point's statistics in a store, for years (a long-running service)")
    online(sp)
    sp.set_defaults(username=broker.COLLECTOR_USER)  # the broker's read-only statistics account
    sp.add_argument("--store", required=True, help="sqlite:///path.db or postgresql://user@host/database")
    sp = add("notifier", _notifier, "mail host staff and support about the points' alerts (a long-running service)")
    online(sp)
    fleet(sp)
    sp.set_defaults(username=broker.NOTIFIER_USER)  # reads alerts and online flags, writes only alert_ack
    sp.add_argument("--smtp", required=True, help="the SMTP server, host:port")
    sp.add_argument("--from", dest="sender", required=True, help="the sender address of the mails")
    sp.add_argument("--starttls", action="store_true", help="upgrade the SMTP connection with STARTTLS")
    sp.add_argument("--smtp-user", help="SMTP login (with --smtp-password-file)")
    sp.add_argument("--smtp-password-file", help="file holding the SMTP password")
    sp.add_argument("--smtp-ca-file", help="CA bundle the SMTP server's certificate is checked against")
    sp.add_argument("--support", action="append", help="the organiser's support address (repeatable)")
    sp.add_argument("--reminder-min", type=float, default=60.0, help="minutes between reminders of an open problem")
    sp.add_argument("--offline-grace-s", type=float, default=300.0,
                    help="seconds a point may be offline in opening hours before staff are mailed")
    sp.add_argument("--check-s", type=float, default=30.0, help="seconds between offline and retry rounds")
    sp.add_argument("--stale-s", type=float, default=600.0,
                    help="seconds without a state report after which a point counts as offline")
    sp.add_argument("--state", help="file keeping the open problems over restarts (all-clears, no repeated mails)")
    sp = add("report", _stats_report, "a month's statistics report (report.html, report.csv) from the store")
    sp.add_argument("--store", required=True, help="the store ops collect writes: sqlite:///… or postgresql://…")
    sp.add_argument("--month", required=True, help="YYYY-MM")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--producer", help="one producer's report: only its queues, small counts masked")
    g.add_argument("--point", help="one service point's report")
    sp.add_argument("--out", required=True, help="directory for report.html and report.csv")
    sp.add_argument("--min-sessions", type=int, default=100, help="list points below this many sessions (100)")
    sp.add_argument("--mask", action="store_true", help="mask small counts (<5) in any scope (e.g. for a host)")
    sp = add("command", lambda a: asyncio.run(_command(a)), "sign and send a remote command to a point")
    online(sp)
    sp.add_argument("--key", action="append", required=True, help="organiser private key the command is signed with")
    sp.add_argument("--point", required=True)
    sp.add_argument("name", choices=("restart", "reboot", "out_of_service", "test_print", "diagnostics"))
    sp.add_argument("--off", action="store_true", help="out_of_service: back in service")
    sp.add_argument("--message-fi")
    sp.add_argument("--message-sv")
    sp.add_argument("--message-en")
    sp.add_argument("--valid-hours", type=float, default=24.0,
                    help="refused by the point after this (at most 168 h)")  # fmt: skip
    sp.add_argument("--timeout", type=float, default=60.0, help="wait this long for the acknowledgement")
    add("broker-acl", cmd_broker_acl, "print the mosquitto ACL for the fleet")
    sp = add("broker-user", cmd_broker_user, "add a point (or ops) to a mosquitto password file")
    sp.add_argument("--passwd", required=True)
    sp.add_argument("username")
    return p


def main(argv: Sequence[str]) -> int:
    if list(argv[:1]) == ["repo"]:  # the organiser's apt repository (provisioning/repo.py: its own options)
        from provisioning.repo import main as repo_main

        return repo_main(argv[1:])
    args = _parser().parse_args(list(argv))
    try:
        return int(args.func(args))
    except OpsError as exc:
        print(f"etapiste ops {args.cmd}: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"etapiste ops {args.cmd}: the configuration is not valid:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    except aiomqtt.MqttError as exc:
        print(f"etapiste ops {args.cmd}: broker: {exc}", file=sys.stderr)
        return 2
