"""The ledger's schema and database engines.

Why this shape:
- Everything a request needs lives in the database; no in-process state. Several server processes
  (uvicorn workers, or machines behind a load balancer) can therefore share one PostgreSQL database.
- Each station's stream is gap-free: `streams.acked_seq` is locked (`SELECT … FOR UPDATE`) by the
  transaction that appends a batch, and `(event_id, station_id, seq)` is unique, so concurrent writers of
  one stream serialize and can never leave a hole that a reader's cursor would step over.
- SQLite (the default, for a single process or a laptop at the venue) serializes writers with
  `BEGIN IMMEDIATE` in WAL mode; readers use a separate engine and never block.
- The schema is created with `create_all` (the ledger's own schema, versioned by `SCHEMA_VERSION` in
  the `ledger_meta` table); on PostgreSQL an advisory lock keeps workers starting together from racing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from station.errors import UserError

SCHEMA_VERSION = "1"
DEFAULT_URL = "sqlite:///ledger.sqlite3"

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

ledger_meta = sa.Table(
    "ledger_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    # Kept as decimal text: floor(points_per_km × distance_m / 1000) must not suffer binary rounding.
    sa.Column("points_per_km", sa.String(40), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("registered_at", sa.BigInteger, nullable=False),
)

races = sa.Table(
    "races",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("race_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("distance_m", sa.Integer, nullable=False),
    sa.Column("ranking", sa.String(10), nullable=False, server_default="chip"),
)

# Every event configuration ever registered (its canonical digest): a non-organizer station may send
# a copy of any of them as its own `event_config` entry (`ledger.streams._check_copies`).
event_configs = sa.Table(
    "event_configs",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("registered_at", sa.BigInteger, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    # SHA-256 of the token: tokens are 256-bit random strings, so a fast hash is enough and the
    # database never holds a usable secret.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("station_id", sa.String(200), nullable=False),
    sa.Column("publish", sa.Boolean, nullable=False, server_default=sa.false()),
    # checkin | timing | results | organizer (station.log.contract.may_write); added after version 1 went
    # out, so `create_schema` adds it to older databases and fills it from `publish`.
    sa.Column("role", sa.String(20), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
)

streams = sa.Table(
    "streams",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("station_id", sa.String(200), primary_key=True),
    sa.Column("acked_seq", sa.BigInteger, nullable=False),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("station_id", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("uuid", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.Column("operator", sa.Text, nullable=False, server_default=""),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("event_id", "station_id", "seq", name="uq_ledger_entries_stream_seq"),
)

# The latest published result of each registration (by entry order) and its live credit, if any.
results = sa.Table(
    "results",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("registration_id", sa.String(200), primary_key=True),
    sa.Column("bib", sa.Text, nullable=False, server_default=""),
    sa.Column("race", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False, server_default=""),
    sa.Column("gun_ms", sa.BigInteger, nullable=True),
    sa.Column("chip_ms", sa.BigInteger, nullable=True),
    sa.Column("runner_id", sa.Text, nullable=True),
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
    sa.Column("o_recorded_at", sa.BigInteger, nullable=True),
    sa.Column("o_station", sa.String(200), nullable=True),
    sa.Column("o_seq", sa.BigInteger, nullable=True),
    sa.Column("credit_points", sa.BigInteger, nullable=True),
    sa.Column("credit_account", sa.Text, nullable=True),
    # The account's event when the credit went to a registration-only account ('' for a runner id).
    sa.Column("credit_event", sa.String(200), nullable=False, server_default=""),
    # Why the latest publication earns nothing although it says `finished` (registration not in the
    # event's participant list, runner id differing from the list's); NULL when it counts.
    sa.Column("set_aside", sa.Text, nullable=True),
)

# The event's participant list as its log on the ledger says: the latest `participant` entry of each
# registration (entry order). Decides which registrations a results token may credit, and the account.
participants = sa.Table(
    "participants",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("registration_id", sa.String(200), primary_key=True),
    sa.Column("runner_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("o_recorded_at", sa.BigInteger, nullable=False),
    sa.Column("o_station", sa.String(200), nullable=False),
    sa.Column("o_seq", sa.BigInteger, nullable=False),
    sa.Index("ix_participants_runner", "event_id", "runner_id"),
)

# The append-only points ledger: a credit, and a reversal when a finish ends.
point_lines = sa.Table(
    "point_lines",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    # An account is a runner id (account_event '') or a registration of one event without a runner id
    # (account = registration id, account_event = that event): R001 of two events are two accounts.
    sa.Column("account", sa.String(200), nullable=False, index=True),
    sa.Column("account_event", sa.String(200), nullable=False, server_default=""),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("registration_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("station_id", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


@dataclass
class Database:
    """The ledger's engines: `write` for transactions that change data, `read` for queries."""

    url: str
    write: sa.Engine
    read: sa.Engine

    @property
    def is_sqlite(self) -> bool:
        return self.write.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def normalize_url(url: str) -> str:
    """Accept `postgresql://…` (psycopg 3 is the driver we ship) and plain SQLite paths."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return "sqlite:///" + url
    return url


def _sqlite_engine(url: str, *, writer: bool) -> sa.Engine:
    engine = sa.create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=4 if writer else 8,
        max_overflow=8,
        poolclass=sa.pool.QueuePool,
    )

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def open_database(url: str, *, create: bool = True) -> Database:
    """Open (and by default create) the ledger database at `url`; bad URLs are user errors."""
    url = normalize_url(url)
    try:
        if url.startswith("sqlite"):
            db = Database(url, _sqlite_engine(url, writer=True), _sqlite_engine(url, writer=False))
        else:
            eng = sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            db = Database(url, eng, eng)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as e:
        raise UserError(f"bad ledger database URL {url!r}: {e}") from e
    if create:
        try:
            create_schema(db)
        except sa.exc.OperationalError as e:
            db.dispose()
            raise UserError(f"cannot open the ledger database {_safe(url)}: {e.orig}") from e
    return db


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def create_schema(db: Database) -> None:
    with db.write.begin() as conn:
        if not db.is_sqlite:
            # Workers starting together: one creates, the others wait and then find the tables.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(724991)"))
        had = set(sa.inspect(conn).get_table_names())
        metadata.create_all(conn)
        cols = {c["name"] for c in sa.inspect(conn).get_columns("tokens")}
        if "role" not in cols:  # a version-1 database from before token roles
            conn.execute(sa.text("ALTER TABLE tokens ADD COLUMN role VARCHAR(20)"))
            conn.execute(sa.text("UPDATE tokens SET role = CASE WHEN publish THEN 'results' ELSE 'timing' END"))
        _upgrade_accounts(conn, had)
        got = conn.execute(
            sa.select(ledger_meta.c.value).where(ledger_meta.c.key == "schema_version")
        ).scalar()
        if got is None:
            conn.execute(ledger_meta.insert().values(key="schema_version", value=SCHEMA_VERSION))
        elif got != SCHEMA_VERSION:
            raise UserError(f"ledger database schema {got} is not the supported {SCHEMA_VERSION}")


def _upgrade_accounts(conn: sa.Connection, had: set[str]) -> None:
    """A version-1 database from before per-event registration accounts and the participant list: add the
    columns (a line whose account is its own registration id was a registration account of its event)
    and fill `participants` from the participant entries already stored."""
    rcols = {c["name"] for c in sa.inspect(conn).get_columns("results")}
    if "credit_event" not in rcols:
        conn.execute(sa.text("ALTER TABLE results ADD COLUMN credit_event VARCHAR(200) NOT NULL DEFAULT ''"))
        conn.execute(sa.text("ALTER TABLE results ADD COLUMN set_aside TEXT"))
        conn.execute(sa.text("UPDATE results SET credit_event = event_id WHERE credit_account = registration_id"))
    pcols = {c["name"] for c in sa.inspect(conn).get_columns("point_lines")}
    if "account_event" not in pcols:
        conn.execute(sa.text("ALTER TABLE point_lines ADD COLUMN account_event VARCHAR(200) NOT NULL DEFAULT ''"))
        conn.execute(sa.text("UPDATE point_lines SET account_event = event_id WHERE account = registration_id"))
    if "participants" in had or "entries" not in had:
        return
    import json

    latest: dict[tuple[str, str], tuple[tuple[int, str, int], str]] = {}
    rows = conn.execute(sa.select(entries.c.event_id, entries.c.station_id, entries.c.seq, entries.c.recorded_at,
                                  entries.c.payload).where(entries.c.kind == "participant"))
    for ev, sid, seq, rec, payload in rows:
        p = json.loads(payload)
        key, order = (ev, str(p.get("registration_id"))), (int(rec), sid, int(seq))
        if key not in latest or order > latest[key][0]:
            latest[key] = (order, str(p.get("runner_id") or ""))
    if latest:
        conn.execute(participants.insert(), [
            {"event_id": ev, "registration_id": reg, "runner_id": rid, "o_recorded_at": o[0], "o_station": o[1],
             "o_seq": o[2]} for (ev, reg), (o, rid) in latest.items()])


def upsert(db: Database, table: sa.Table) -> Any:
    """A dialect `INSERT` that supports `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert(table)
