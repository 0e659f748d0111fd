"""Signed runner tickets: JWTs over Ed25519 (EdDSA, RFC 8037), verified offline at the desk.

Why this shape:
- A desk is usually offline, so a ticket must prove itself: the organizer signs it with a private key
  that never leaves their laptop, and every desk holds only the event's *public* keys
  (``[checkin] public_keys = { kid = "<base64 raw key>" }``). Several keys may be listed (rotation);
  the JWT header's ``kid`` picks one, and ``[checkin] revoked_keys`` withdraws a leaked one.
- The token is a plain JWT (PyJWT on top of ``cryptography``) so other tools (the online registration
  platform) can issue compatible tickets. Claims (DESIGN.md): ``evt`` event id, ``sub`` registration
  id, ``bib``, ``race``, optional ``rid`` (runner id) and ``name`` (only with ``--with-names``: PIPL),
  ``iat``, ``exp``; we add ``jti`` (a short random id) so one ticket can be revoked on its own.
- Every refusal has a reason a volunteer can read aloud ("ticket expired on 30 Nov 00:00"), never a
  stack trace: garbage and oversized input are refused before any parsing work.

Ticket-level revocation (one ticket, or all tickets of a registration issued before a reprint) lives in
the event log as ``ticket_revoked`` entries and is checked by `station.checkin.desk` against
`station.checkin.state`; this module checks what a token says about itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.errors import CommandError, UserError

ALG = "EdDSA"
#: A real ticket is ~350 characters; anything far beyond is refused before parsing (cheap DoS guard).
MAX_CODE_LEN = 2048
#: Clock slack for ``exp``: desk laptops' clocks drift, and a runner should not be turned away for it.
LEEWAY_S = 300


# ------------------------------------------------------------------------------------------- keys
def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in standard base64: the value for ``[checkin] public_keys``."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_public_key(b64: str) -> Ed25519PublicKey:
    """Parse a base64 raw Ed25519 public key (URL-safe alphabet and missing padding accepted)."""
    s = str(b64).strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError("not base64") from e
    if len(raw) != 32:
        raise ValueError(f"{len(raw)} bytes, expected 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def write_private_key(path: Path, key: Ed25519PrivateKey, *, overwrite: bool = False) -> None:
    """PKCS#8 PEM (readable by openssl and other JWT tools), owner-only where the OS supports it."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise UserError(f"{path}: already exists; refusing to overwrite a signing key (use --force)")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    tmp.replace(path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read the signing key ({e.strerror})") from e
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise UserError(f"{path}: not an unencrypted PEM private key ({e})") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path}: the key is not an Ed25519 key (tickets use EdDSA over Ed25519)")
    return key


def find_kid(key: Ed25519PrivateKey, public_keys: Mapping[str, str]) -> str:
    """The kid under which the event file lists this private key's public half."""
    mine = public_key_b64(key)
    for kid, b64 in public_keys.items():
        try:
            if public_key_b64(load_public_key(b64)) == mine:
                return str(kid)
        except ValueError:
            continue
    raise UserError(
        "this signing key's public key is not in the event's [checkin] public_keys; add the line "
        f'printed by `tickets keygen` (… = "{mine}") to the event file and load it again'
    )


# ------------------------------------------------------------------------------------------- issuing
@dataclass(frozen=True)
class TicketSigner:
    key: Ed25519PrivateKey
    kid: str

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self.key, algorithm=ALG, headers={"kid": self.kid})


def event_signer(key: Ed25519PrivateKey, event_payload: Mapping[str, Any]) -> TicketSigner:
    """A signer under the kid the event lists for this key; a key withdrawn in `revoked_keys` is refused."""
    ck = event_payload.get("checkin") or {}
    kid = find_kid(key, ck.get("public_keys") or {})
    if kid in set(ck.get("revoked_keys") or []):
        raise CommandError("key", "key {kid!r} is listed in [checkin] revoked_keys: make a new key with "
                                  "`tickets keygen` and list it in the event file", kid=kid)
    return TicketSigner(key, kid)


def sign_tickets(event_payload: Mapping[str, Any], key: Ed25519PrivateKey, people: Iterable[Mapping[str, Any]],
                 *, now_s: int, expires: str | None = None,
                 with_names: bool = False) -> list[tuple[Mapping[str, Any], dict[str, Any], str]]:
    """Sign one ticket per participant: [(participant, claims, token)]. The one signing path for
    `tickets issue` and a desk's reprint (key check, expiry rule, claims)."""
    signer = event_signer(key, event_payload)
    exp = ticket_expiry(event_payload, now_s, expires)
    event_id = str((event_payload.get("event") or {}).get("id") or "")
    out = []
    for p in people:
        claims = ticket_claims(event_id, p, iat=now_s, exp=exp, with_name=with_names)
        out.append((p, claims, signer.sign(claims)))
    return out


def ticket_claims(event_id: str, participant: Mapping[str, Any], *, iat: int, exp: int,
                  with_name: bool = False, jti: str | None = None) -> dict[str, Any]:
    """Claims for one participant (DESIGN.md). No name unless the organizer asked (PIPL)."""
    c: dict[str, Any] = {
        "evt": event_id,
        "sub": str(participant["registration_id"]),
        "bib": str(participant.get("bib") or ""),
        "race": str(participant.get("race") or ""),
        "iat": int(iat),
        "exp": int(exp),
        "jti": jti or secrets.token_hex(6),
    }
    if participant.get("runner_id"):
        c["rid"] = str(participant["runner_id"])
    if with_name and participant.get("name"):
        c["name"] = str(participant["name"])
    return c


class ExpiredTicketsError(UserError):
    """Tickets signed now would already be expired (see `ticket_expiry`)."""


def ticket_expiry(event_payload: Mapping[str, Any], now_s: int, expires: str | None = None) -> int:
    """When the tickets signed now expire (UNIX seconds): the one rule for `tickets issue` and a desk's reprint.

    Default: the end of the day *after* the event, in the event's zone — a ticket lasts through race
    day and a runner who collects a late pack the day after, and is worthless a day later. `expires`
    (``YYYY-MM-DD``, an organizer printing for a later edition or a rescheduled day) means the end of
    that day. With no event date: 30 days from now.

    Refuses (``ExpiredTicketsError``, naming the expiry) when that moment has already passed: tickets
    signed for a past event would print fine and then be refused at every desk.
    """
    ev = event_payload.get("event") or {}
    tz_name = str(ev.get("timezone") or "UTC")
    try:
        zone = ZoneInfo(tz_name)
    except Exception:
        zone, tz_name = ZoneInfo("UTC"), "UTC"
    if expires:
        try:
            day = date.fromisoformat(str(expires))
        except ValueError:
            raise UserError(f"--expires {expires!r}: expected a date YYYY-MM-DD") from None
        why = f"--expires {day.isoformat()}"
    elif ev.get("date"):
        try:
            day = date.fromisoformat(str(ev["date"])) + timedelta(days=1)
        except ValueError:
            return now_s + 30 * 86400
        why = f"the day after the event ({ev['date']})"
    else:
        return now_s + 30 * 86400
    end = int(datetime.combine(day + timedelta(days=1), time(0, 0), zone).timestamp())
    if end <= now_s:
        raise ExpiredTicketsError(
            f"tickets would expire on {format_instant(end * 1000, tz_name)} ({tz_name}), at the end of {why}, "
            "which has already passed: nothing was signed. To print tickets for a later day, pass "
            "--expires YYYY-MM-DD (valid until the end of that day).")
    return end


def code_hash(code: str) -> str:
    """A stable short digest of a scanned code: logged instead of a long token (reviewable, not replayable)."""
    return hashlib.sha256(code.strip().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def render_qr_png(token: str, path: Path, *, box_size: int = 8, border: int = 4) -> Path:
    """Write the QR of `token`. ECC level M: survives a scuffed print or a cracked phone screen while
    keeping modules large enough for a cheap webcam at arm's length."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(token)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(str(path))
    return path


# ------------------------------------------------------------------------------------------- verifying
@dataclass(frozen=True)
class TicketCheck:
    """What a token says about itself: valid (``ok``) with its claims, or a refusal reason.

    ``problem`` is a stable machine word (``bad_signature``, ``expired``…) for tests and statistics;
    ``reason`` the plain-words sentence for the volunteer. ``claims`` are filled whenever the signature
    was good (an expired ticket still names its runner), else empty.
    """

    ok: bool
    reason: str = ""
    problem: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    kid: str = ""


def _refuse(problem: str, reason: str, claims: dict[str, Any] | None = None, kid: str = "") -> TicketCheck:
    return TicketCheck(False, reason, problem, dict(claims or {}), kid)


def format_instant(ms: int, tz: str | None) -> str:
    """UTC ms → `YYYY-MM-DD HH:MM` in the event's zone (UTC when none is configured)."""
    try:
        zone = ZoneInfo(tz) if tz else UTC
    except Exception:
        zone = UTC
    return datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M")


class TicketVerifier:
    """Checks tokens against one event's keys. Build once per event config (keys parsed once)."""

    def __init__(self, event_id: str, public_keys: Mapping[str, str], revoked_keys: list[str] | None = None,
                 *, timezone: str | None = None) -> None:
        self.event_id = event_id
        self.timezone = timezone
        self.revoked_keys = {str(k) for k in (revoked_keys or [])}
        self._keys: dict[str, Ed25519PublicKey] = {}
        self.bad_keys: dict[str, str] = {}
        for kid, b64 in (public_keys or {}).items():
            try:
                self._keys[str(kid)] = load_public_key(b64)
            except ValueError as e:
                self.bad_keys[str(kid)] = str(e)

    def verify(self, code: str, now_ms: int) -> TicketCheck:
        if not isinstance(code, str):
            return _refuse("garbage", "not a ticket: the code is not text")
        code = code.strip()
        if not code:
            return _refuse("empty", "empty code")
        if len(code) > MAX_CODE_LEN:
            return _refuse("oversized", f"not a ticket: the code is far too long ({len(code)} characters)")
        if code.count(".") != 2 or not code.isascii():
            return _refuse("garbage", "not a WO.RUN ticket (this code is not a signed ticket)")
        try:
            header = jwt.get_unverified_header(code)
        except Exception:
            return _refuse("garbage", "not a WO.RUN ticket (damaged or unreadable code)")
        alg = header.get("alg")
        if alg != ALG:
            return _refuse("bad_alg", f"ticket not signed the WO.RUN way (algorithm {alg!r}, expected EdDSA)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            return _refuse("no_kid", "ticket names no signing key")
        if kid in self.revoked_keys:
            return _refuse("revoked_key", f"ticket signed with key {kid!r}, which the organizer revoked", kid=kid)
        key = self._keys.get(kid)
        if key is None:
            if kid in self.bad_keys:
                return _refuse("bad_event_key", f"the event file's key {kid!r} is broken ({self.bad_keys[kid]})",
                               kid=kid)
            return _refuse("unknown_kid", f"ticket signed with unknown key {kid!r} (not one of this event's keys)",
                           kid=kid)
        try:
            claims = jwt.decode(
                code, key=key, algorithms=[ALG],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "verify_aud": False, "verify_iss": False},
            )
        except jwt.InvalidSignatureError:
            return _refuse("bad_signature", "signature does not match: the ticket was altered or forged", kid=kid)
        except Exception:
            return _refuse("garbage", "damaged ticket (its contents cannot be read)", kid=kid)
        if not isinstance(claims, dict):
            return _refuse("garbage", "damaged ticket (its contents cannot be read)", kid=kid)
        for name in ("evt", "sub", "exp"):
            if name not in claims or claims[name] in (None, ""):
                return _refuse("missing_claim", f"ticket lacks its {name!r} field", claims, kid)
        if not isinstance(claims["sub"], str | int) or not isinstance(claims["evt"], str):
            return _refuse("missing_claim", "ticket fields have the wrong type", claims, kid)
        claims["sub"] = str(claims["sub"])
        if claims["evt"] != self.event_id:
            return _refuse("other_event", f"ticket is for another event ({claims['evt']!r}, this desk checks in "
                                          f"{self.event_id!r})", claims, kid)
        exp = claims["exp"]
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return _refuse("missing_claim", "ticket expiry is not a time", claims, kid)
        if now_ms > (exp + LEEWAY_S) * 1000:
            return _refuse("expired", f"ticket expired on {format_instant(int(exp * 1000), self.timezone)}",
                           claims, kid)
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and now_ms < (nbf - LEEWAY_S) * 1000:
            return _refuse("not_yet_valid", f"ticket not valid before {format_instant(int(nbf * 1000), self.timezone)}",
                           claims, kid)
        return TicketCheck(True, "", "", claims, kid)
