"""Packed read rows and a resend-key table: ingest at capture speed.

A busy reader sends thousands of reads a second. One table row per read costs one B-tree insert in
each of the table, the (station_id, seq) index and the resend-key index, which alone caps ingest far
below what a timing crew replaying a capture expects. So consecutive `read` entries committed
together are stored in ONE row: `seq` is the first entry's seq, `n` how many entries the row holds
(seq … seq+n-1, still one entry each to every reader of the log), `uuid` the first entry's uuid (the
others count up from it in the last 8 hex digits: `station.log.store.nth_uuid`), `payload` the run's
columns (`station.log.reads.ReadRun.to_doc`) or a JSON array of payloads. Single entries keep n = 1 and
look exactly as before.

Resend keys move from `entries.dkey` (one index entry per row) to `dkeys`, one per keyed entry,
whatever row holds it — except running-index keys (`<stream>#<index>`: a reader's own log index),
kept as index intervals per stream in `dkey_ranges` (a day's log is a handful of intervals).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("n", sa.Integer, nullable=False, server_default="1"))
    op.execute("CREATE TABLE dkeys (dkey TEXT PRIMARY KEY) WITHOUT ROWID")
    op.execute("INSERT OR IGNORE INTO dkeys (dkey) SELECT dkey FROM entries WHERE dkey IS NOT NULL")
    op.execute("CREATE TABLE dkey_ranges (stream TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,"
               " PRIMARY KEY (stream, lo)) WITHOUT ROWID")
    op.drop_index("ix_entries_dkey", "entries")
    op.create_index("ix_entries_kind", "entries", ["kind", "id"])


def downgrade() -> None:
    raise NotImplementedError("a station file is never downgraded: it may hold packed read rows")
