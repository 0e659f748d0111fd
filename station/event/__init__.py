"""The event: its configuration (the event file), the points rule, and the setup commands (event load, readers)."""
