"""Timing: reader ingest (bindings, live readers, captures), the timing commands, and the finish-line stamp queue."""
