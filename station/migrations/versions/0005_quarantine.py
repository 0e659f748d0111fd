"""Two local-only tables (never synced): peer entries set aside, and the full bytes of long lines.

`quarantine` holds entries pulled from peers that break the entry contract (`station.contract`):
stored exactly as received (the wire object as ASCII JSON, so lone surrogates, NaN or a 4,000-digit
integer survive the round trip), with the reason, but never applied to results or check-in — a
station must not crash on a peer's entry, nor lose it. `digest` (SHA-256 of that text) makes a
re-pull after a crash store it once.

`raw_lines` holds the full text of a reader line too long for the log: the `unparsed` entry keeps
the first few KiB with the full length and the SHA-256 of the full bytes, which names the row here.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = sa.inspect(op.get_bind())
    if have.has_table("quarantine"):  # a file rewound to an older revision (tests of older migrations)
        return
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("station_id", sa.Text, nullable=True),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("uuid", sa.Text, nullable=True),
        sa.Column("kind", sa.Text, nullable=True),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.Text, nullable=False, unique=True),
    )
    op.create_table(
        "raw_lines",
        sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("a station file is never downgraded: it may hold packed read rows")
