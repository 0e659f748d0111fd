"""A `chips` column on read rows: the chip ids a row holds, as a JSON array of strings.

A runner's detail (the reads behind each crossing) and the results engine splitting a chip's chains
(a chip swap, a clock offset inside a chain) need the reads of one or two chips out of a million. The
packed layout keeps a run's chips inside its payload document, next to raw lines and times, so
finding them meant searching ~100 bytes of text per read (0.4–0.6 s at a million reads). The chip
list alone is ~10 bytes per read, kept in a partial index (one entry per row, not per read) that
SQLite searches without touching the payloads. Rows written before this migration are filled in from their payloads here
(JSON1, inside SQLite); readers still fall back to the payload where the column is empty.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("chips", sa.Text, nullable=True))
    # single reads and columnar runs: `$.chip` is the chip or the list of chips
    op.execute("UPDATE entries SET chips = CASE WHEN json_type(payload, '$.chip') = 'array'"
               " THEN json_extract(payload, '$.chip') ELSE json_array(json_extract(payload, '$.chip')) END"
               " WHERE kind = 'read' AND json_valid(payload) AND json_type(payload) = 'object'"
               " AND json_type(payload, '$.chip') IS NOT NULL")
    # packed rows stored as a JSON array of payloads
    op.execute("UPDATE entries SET chips = (SELECT json_group_array(json_extract(value, '$.chip'))"
               " FROM json_each(entries.payload))"
               " WHERE kind = 'read' AND chips IS NULL AND json_valid(payload) AND json_type(payload) = 'array'")
    # Searched on its own: in the table row the column comes after the payload, and reaching it means
    # walking the payload's overflow pages (~100 MB at a million reads). The partial index holds the
    # chip lists alone (one entry per row, not per read: packed rows keep it small).
    op.execute("CREATE INDEX ix_entries_chips ON entries (chips) WHERE kind = 'read'")


def downgrade() -> None:
    raise NotImplementedError("a station file is never downgraded: it may hold packed read rows")
