"""Per-station bearer tokens.

A token is 256 random bits; the database keeps only its SHA-256, so a leaked database backup cannot be
used to write into a stream. Each token is bound to one event and one station: it writes only that
station's stream, and its role decides which entry kinds it may write (`station.contract.may_write`:
checkin, timing, results, organizer; `--publish` is the results role). Tokens made before roles existed
have none stored: a publishing token is a results token, any other a timing token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from station.contract import ROLES
from station.errors import UserError

TOKEN_PREFIX = "wrs_"


@dataclass(frozen=True)
class Grant:
    """What a valid token allows."""

    event_id: str
    station_id: str
    role: str

    @property
    def publish(self) -> bool:
        return self.role in ("results", "organizer")


def role_of(stored: str | None, publish: bool) -> str:
    """The role of a token row (rows from before roles: publish → results, else timing)."""
    return stored if stored in ROLES else ("results" if publish else "timing")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(db: Database, event_id: str, station_id: str, *, publish: bool = False,
              role: str | None = None) -> str:
    """Create a token and store its hash; the clear token is returned once and never stored.
    `role` (default: results with `publish`, else timing) decides which entry kinds it may write."""
    if role is None:
        role = "results" if publish else "timing"
    if role not in ROLES:
        raise UserError(f"--role: expected one of {', '.join(ROLES)}, got {role!r}")
    if publish and role not in ("results", "organizer"):
        raise UserError(f"--publish gives the results role; it cannot be combined with --role {role}")
    publish = role in ("results", "organizer")
    if not station_id.strip():
        raise UserError("--station must not be empty")
    with db.read.connect() as conn:
        known = conn.execute(
            sa.select(schema.events.c.id).where(schema.events.c.id == event_id)
        ).scalar()
    if known is None:
        raise UserError(f"event {event_id!r} is not registered; run `ledger event add` first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write.begin() as conn:
        conn.execute(
            schema.tokens.insert().values(
                token_hash=hash_token(token), event_id=event_id, station_id=station_id,
                publish=publish, role=role, created_at=time.time_ns() // 1_000_000,
            )
        )
    return token


def check_token(db: Database, token: str | None) -> Grant | None:
    """The grant of a presented token, or None when it is unknown or revoked."""
    if not token:
        return None
    with db.read.connect() as conn:
        row = conn.execute(
            sa.select(schema.tokens.c.event_id, schema.tokens.c.station_id, schema.tokens.c.publish,
                      schema.tokens.c.role)
            .where(schema.tokens.c.token_hash == hash_token(token))
            .where(schema.tokens.c.revoked_at.is_(None))
        ).first()
    if row is None:
        return None
    return Grant(row.event_id, row.station_id, role_of(row.role, bool(row.publish)))


@dataclass(frozen=True)
class TokenInfo:
    """A token as an administrator sees it (never the token itself: only its hash is kept)."""

    id: int
    event_id: str
    station_id: str
    publish: bool
    role: str
    created_at: int
    revoked_at: int | None


def list_tokens(db: Database, event_id: str | None = None) -> list[TokenInfo]:
    """Every token (of one event), oldest first."""
    t = schema.tokens
    q = sa.select(t.c.id, t.c.event_id, t.c.station_id, t.c.publish, t.c.role, t.c.created_at, t.c.revoked_at)
    if event_id is not None:
        q = q.where(t.c.event_id == event_id)
    with db.read.connect() as conn:
        rows = conn.execute(q.order_by(t.c.id)).all()
    return [TokenInfo(int(r.id), r.event_id, r.station_id, bool(r.publish), role_of(r.role, bool(r.publish)),
                      int(r.created_at),
                      None if r.revoked_at is None else int(r.revoked_at)) for r in rows]


def revoke_tokens(db: Database, *, event_id: str | None = None, station_id: str | None = None,
                  token_id: int | None = None, token: str | None = None) -> int:
    """Revoke tokens: one by its clear text or id, or every live token of a station of an event (a lost
    laptop). Returns how many were revoked; a revoked token is refused from the next request on. What
    the station already sent stays on the ledger — revoking stops writes, it erases nothing."""
    t = schema.tokens
    q = t.update().where(t.c.revoked_at.is_(None))
    if token is not None:
        q = q.where(t.c.token_hash == hash_token(token.strip()))
    elif token_id is not None:
        q = q.where(t.c.id == token_id)
    elif event_id is not None and station_id is not None:
        q = q.where(t.c.event_id == event_id).where(t.c.station_id == station_id)
    else:
        raise UserError("say which token to revoke: --token, --id, or --event with --station")
    if event_id is not None:
        q = q.where(t.c.event_id == event_id)
    with db.write.begin() as conn:
        n = conn.execute(q.values(revoked_at=time.time_ns() // 1_000_000)).rowcount
    return int(n or 0)
