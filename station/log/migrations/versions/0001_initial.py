"""Initial schema: the append-only event log, sync state and station metadata.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entries",
        # Local arrival order: lets readers follow the log incrementally ("everything after id N").
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("station_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("uuid", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("operator", sa.Text, nullable=False, server_default=""),
        # Resend key of a reader protocol (Ultra reader/box/log id, …): the same key is the same read.
        sa.Column("dkey", sa.Text, nullable=True),
        sa.UniqueConstraint("station_id", "seq", name="uq_entries_station_seq"),
    )
    op.create_index("ix_entries_dkey", "entries", ["dkey"])
    op.create_table(
        "sync_state",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("sync_state")
    op.drop_index("ix_entries_dkey", "entries")
    op.drop_table("entries")
