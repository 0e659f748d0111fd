"""The reference online ledger: receives station logs and published results, keeps the append-only
points ledger and serves each station its peers' entries (see DESIGN.md, "Ledger HTTP API")."""
