"""Per-station bearer tokens.

A token is 256 random bits; the database keeps only its SHA-256, so a leaked database backup cannot be
used to write into a stream. Each token is bound to one event and one station: it writes only that
station's stream, and only a token made with `--publish` may send `result_published` entries.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from station.errors import UserError

TOKEN_PREFIX = "wrs_"


@dataclass(frozen=True)
class Grant:
    """What a valid token allows."""

    event_id: str
    station_id: str
    publish: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(db: Database, event_id: str, station_id: str, *, publish: bool) -> str:
    """Create a token and store its hash; the clear token is returned once and never stored."""
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
                publish=publish, created_at=time.time_ns() // 1_000_000,
            )
        )
    return token


def check_token(db: Database, token: str | None) -> Grant | None:
    """The grant of a presented token, or None when it is unknown or revoked."""
    if not token:
        return None
    with db.read.connect() as conn:
        row = conn.execute(
            sa.select(schema.tokens.c.event_id, schema.tokens.c.station_id, schema.tokens.c.publish)
            .where(schema.tokens.c.token_hash == hash_token(token))
            .where(schema.tokens.c.revoked_at.is_(None))
        ).first()
    if row is None:
        return None
    return Grant(row.event_id, row.station_id, bool(row.publish))


@dataclass(frozen=True)
class TokenInfo:
    """A token as an administrator sees it (never the token itself: only its hash is kept)."""

    id: int
    event_id: str
    station_id: str
    publish: bool
    created_at: int
    revoked_at: int | None


def list_tokens(db: Database, event_id: str | None = None) -> list[TokenInfo]:
    """Every token (of one event), oldest first."""
    t = schema.tokens
    q = sa.select(t.c.id, t.c.event_id, t.c.station_id, t.c.publish, t.c.created_at, t.c.revoked_at)
    if event_id is not None:
        q = q.where(t.c.event_id == event_id)
    with db.read.connect() as conn:
        rows = conn.execute(q.order_by(t.c.id)).all()
    return [TokenInfo(int(r.id), r.event_id, r.station_id, bool(r.publish), int(r.created_at),
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
