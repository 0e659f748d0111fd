"""The event log: the append-only store (SQLite, WAL), entry records, packed reads, the entry contract, migrations."""
