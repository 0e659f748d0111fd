"""The results engine: results as a pure function of event-log entries (DESIGN.md timing rules)."""
