"""Signed configuration bundles, TUF-style: what the organiser signs and what a point accepts.

A bundle is JSON::

    {"signed": {"type": "etapiste-bundle", "spec": 1, "point": "<point id>", "version": 17,
                "issued": "2026-11-28T08:00:00Z", "expires": "2026-12-28T08:00:00Z",
                "config": {...the point's resolved configuration...},
                "keys": {"introduce": [{"keyid": "...", "public": "<base64>"}], "retire": ["<keyid>"]}},
     "signatures": [{"keyid": "<hex>", "sig": "<base64 Ed25519 signature>"}]}

The signature covers the canonical JSON of ``signed`` (sorted keys, no spaces, UTF-8), so a bundle can
travel through any JSON tool unchanged in meaning. Checks a point makes, in order (each failure has
its own reason, reported back to the organiser): a well-formed document, a signature by a key the
point trusts, addressed to this point, not expired, a version higher than the one applied, and a
configuration valid against :mod:`etapiste.config.point`.

Key rotation: the point trusts a set of organiser keys (:class:`TrustStore`). A bundle may introduce
new keys and retire old ones; since the bundle must be signed by a key the point already trusts, a new
key is only ever accepted when a current key signed its introduction. The last trusted key cannot be
retired (a point must never be left unable to accept configuration).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from etapiste import safejson
from etapiste.codes import BundleRefusalCode
from etapiste.config.point import PointConfig

BUNDLE_TYPE = "etapiste-bundle"
BUNDLE_SPEC = 1
#: A bundle larger than this is refused before parsing (a point's configuration is a few kilobytes).
MAX_BUNDLE_BYTES = 512 * 1024


class BundleRejected(Exception):
    """A bundle the point will not apply; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: BundleRefusalCode, message: str, version: int | None = None):
        self.code: BundleRefusalCode = code
        self.version = version
        super().__init__(message)


def canonical(data: Any) -> bytes:
    """The bytes a signature covers: JSON with sorted keys, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


#: Why a document whose JSON escapes a lone surrogate is refused (``"\ud800"`` is valid JSON but no character).
NOT_UNICODE = "the {what}'s text is not valid Unicode (a lone surrogate escape); it cannot have been signed"


def unicode_text(data: Any) -> bool:
    """Whether ``data`` (parsed JSON) encodes to UTF-8: a lone surrogate escape parses but can be neither
    signed nor checked (:func:`canonical` cannot encode it), so it must be refused before the signature check."""
    try:
        canonical(data)
    except UnicodeEncodeError:
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def key_id(public: Ed25519PublicKey) -> str:
    """A key's id: the first 16 bytes of SHA-256 over its raw public bytes, in hex."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def public_b64(public: Ed25519PublicKey) -> str:
    return _b64(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def public_from_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_unb64(text))


@dataclass(frozen=True)
class SigningKey:
    """An organiser's private key (kept on the ops workstation, never on a point)."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def keyid(self) -> str:
        return key_id(self.public)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | Path) -> SigningKey:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    def save(self, path: str | Path) -> None:
        """Write the key as PKCS#8 PEM, readable by its owner only."""
        pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)

    def public_entry(self) -> dict[str, str]:
        """How the key is written in a trust store or in a bundle's key introduction."""
        return {"keyid": self.keyid, "public": public_b64(self.public)}


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_bundle(
    config: dict[str, Any],
    *,
    version: int,
    expires: dt.datetime,
    keys: list[SigningKey],
    introduce: list[dict[str, str]] | None = None,
    retire: list[str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Sign ``config`` (the resolved, JSON-able configuration of one point) into a bundle."""
    if version < 1:
        raise ValueError("a bundle's version starts at 1")
    point = config.get("point", {}).get("id") if isinstance(config.get("point"), dict) else None
    if not isinstance(point, str):
        raise ValueError("the configuration does not name its point (point.id)")
    signed: dict[str, Any] = {
        "type": BUNDLE_TYPE,
        "spec": BUNDLE_SPEC,
        "point": point,
        "version": version,
        "issued": _utc(now or dt.datetime.now(dt.UTC)),
        "expires": _utc(expires),
        "config": config,
    }
    if introduce or retire:
        signed["keys"] = {"introduce": list(introduce or []), "retire": list(retire or [])}
    return sign_document(signed, keys)


def sign_document(signed: dict[str, Any], keys: list[SigningKey]) -> dict[str, Any]:
    """``{"signed": signed, "signatures": [...]}``: each key's Ed25519 signature over ``canonical(signed)``.

    Shared by bundles and remote commands (:mod:`provisioning.command`), so both are signed, and
    checked, the one way.
    """
    if not keys:
        raise ValueError("at least one signing key is needed")
    message = canonical(signed)
    return {
        "signed": signed,
        "signatures": [{"keyid": k.keyid, "sig": _b64(k.private.sign(message))} for k in keys],
    }


def trusted_signer(doc: dict[str, Any], trust: TrustStore) -> str | None:
    """The id of the first key in ``trust`` whose signature in ``doc["signatures"]`` covers
    ``canonical(doc["signed"])``, or ``None`` (unsigned, forged, tampered, or signed by unknown keys)."""
    signatures = doc.get("signatures")
    signed = doc.get("signed")
    if not isinstance(signatures, list) or not isinstance(signed, dict):
        return None
    message = canonical(signed)
    for sig in signatures:
        if not isinstance(sig, dict):
            continue
        public = trust.keys.get(str(sig.get("keyid")))
        if public is None:
            continue
        try:
            public.verify(_unb64(str(sig.get("sig"))), message)
        except (InvalidSignature, binascii.Error, ValueError):
            continue
        return str(sig["keyid"])
    return None


def signer_ids(doc: dict[str, Any]) -> str:
    """The key ids a document claims to be signed by, for an error message."""
    sigs = doc.get("signatures")
    ids = [str(s.get("keyid")) for s in sigs if isinstance(s, dict)] if isinstance(sigs, list) else []
    return ", ".join(ids) or "nobody"


class TrustStore:
    """The organiser keys a point trusts: ``{"keys": {keyid: base64 public key}}`` in a JSON file."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]):
        self.keys = dict(keys)

    @classmethod
    def from_entries(cls, entries: list[dict[str, str]]) -> TrustStore:
        keys = {}
        for e in entries:
            public = public_from_b64(e["public"])
            if key_id(public) != e["keyid"]:
                raise ValueError(f"key {e['keyid']!r}: the id does not match the public key")
            keys[e["keyid"]] = public
        return cls(keys)

    @classmethod
    def load(cls, path: str | Path) -> TrustStore:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_entries([{"keyid": k, "public": v} for k, v in data["keys"].items()])

    def to_json(self) -> str:
        return json.dumps({"keys": {k: public_b64(v) for k, v in sorted(self.keys.items())}}, indent=2)

    def save(self, path: str | Path) -> None:
        atomic_write(Path(path), self.to_json().encode())

    def with_changes(self, introduce: list[dict[str, str]], retire: list[str]) -> TrustStore:
        new = TrustStore.from_entries(introduce)
        keys = {**self.keys, **new.keys}
        for keyid in retire:
            keys.pop(keyid, None)
        if not keys:
            raise ValueError("the bundle would retire every trusted key")
        return TrustStore(keys)


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle that passed every check; ``config`` is validated, ``raw`` is what was signed."""

    point: str
    version: int
    expires: dt.datetime
    keyid: str
    config: PointConfig
    config_data: dict[str, Any]
    trust_after: TrustStore
    raw: dict[str, Any]


def _parse_time(text: Any, field: str) -> dt.datetime:
    if not isinstance(text, str):
        raise BundleRejected("malformed", f"{field} must be a UTC time like 2026-12-31T00:00:00Z")
    try:
        t = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise BundleRejected("malformed", f"{field} {text!r} is not a UTC time like 2026-12-31T00:00:00Z") from None
    return t.replace(tzinfo=dt.UTC)


def parse_bundle(payload: bytes) -> dict[str, Any]:
    """The bundle document, or :class:`BundleRejected` (``malformed``) saying what is wrong with it."""
    if len(payload) > MAX_BUNDLE_BYTES:
        raise BundleRejected("malformed", f"the bundle is {len(payload)} bytes; the limit is {MAX_BUNDLE_BYTES}")
    try:
        doc = safejson.loads(payload)  # nested past 32 levels is malformed, not a RecursionError later
    except ValueError as exc:
        raise BundleRejected("malformed", f"the bundle is not JSON: {exc}") from None
    if not unicode_text(doc):
        raise BundleRejected("malformed", NOT_UNICODE.format(what="bundle"))
    if not isinstance(doc, dict) or not isinstance(doc.get("signed"), dict):
        raise BundleRejected("malformed", "the bundle has no 'signed' section")
    if not isinstance(doc.get("signatures"), list) or not doc["signatures"]:
        raise BundleRejected("malformed", "the bundle has no signatures")
    signed = doc["signed"]
    if signed.get("type") != BUNDLE_TYPE or signed.get("spec") != BUNDLE_SPEC:
        raise BundleRejected("malformed", f"not an {BUNDLE_TYPE} of spec {BUNDLE_SPEC}")
    version = signed.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleRejected("malformed", "the version must be a positive integer")
    return doc


def verify_bundle(
    payload: bytes,
    *,
    point: str,
    trust: TrustStore,
    applied_version: int,
    now: dt.datetime | None = None,
) -> VerifiedBundle:
    """Check a bundle for ``point`` (see the module's docstring) or raise :class:`BundleRejected`."""
    doc = parse_bundle(payload)
    signed = doc["signed"]
    version: int = signed["version"]
    good_key = trusted_signer(doc, trust)
    if good_key is None:
        raise BundleRejected(
            "signature", f"no valid signature by a trusted key (signed by: {signer_ids(doc)})", version
        )
    if signed.get("point") != point:
        raise BundleRejected(
            "wrong_point", f"the bundle is addressed to {signed.get('point')!r}, not to this point", version
        )
    expires = _parse_time(signed.get("expires"), "expires")
    now = now or dt.datetime.now(dt.UTC)
    if expires <= now:
        raise BundleRejected("expired", f"the bundle expired at {_utc(expires)}", version)
    if version <= applied_version:
        raise BundleRejected(
            "old_version", f"version {version} is not newer than the applied version {applied_version}", version
        )
    data = signed.get("config")
    if not isinstance(data, dict):
        raise BundleRejected("schema", "the bundle carries no configuration", version)
    try:
        config = PointConfig.model_validate(data)
    except ValueError as exc:
        problems = _problems(exc)
        raise BundleRejected("schema", "the configuration is not valid: " + "; ".join(problems), version) from None
    if config.point.id != point:
        raise BundleRejected("wrong_point", f"the configuration is for {config.point.id!r}", version)
    keys = signed.get("keys") or {}
    try:
        trust_after = trust.with_changes(list(keys.get("introduce", [])), list(keys.get("retire", [])))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BundleRejected("keys", f"the key changes cannot be applied: {exc}", version) from None
    return VerifiedBundle(point, version, expires, good_key, config, data, trust_after, doc)


def _problems(exc: ValueError) -> list[str]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors()][:10]
    return [str(exc)]


def atomic_write(
    path: Path, data: bytes, mode: int = 0o644, *, before_rename: Callable[[], None] | None = None
) -> None:
    """Replace ``path`` by ``data`` whole or not at all: temp file, fsync, rename, fsync the directory.

    A process killed at any point leaves either the old file or the new one, never a mix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


__all__ = [
    "BundleRejected",
    "SigningKey",
    "TrustStore",
    "VerifiedBundle",
    "atomic_write",
    "canonical",
    "sign_bundle",
    "sign_document",
    "signer_ids",
    "trusted_signer",
    "verify_bundle",
]
