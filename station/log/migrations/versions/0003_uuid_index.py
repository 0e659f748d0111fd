"""An index on entries.uuid: a correction names the read it ignores or forces by uuid.

Without it the results engine finds a read merged before anyone targeted it by scanning every read
the station holds (4.6 s for a million reads, on the worker that also answers the check-in desk).
A packed row is indexed under its first uuid; the others count up from it in the last 8 hex digits
(see `station.log.store.nth_uuid`), so one index probe finds any entry: the greatest uuid not above it.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entries_uuid", "entries", ["uuid"])


def downgrade() -> None:
    raise NotImplementedError("a station file is never downgraded: it may hold packed read rows")
