"""Check-in: the desk's commands, the check-in state, signed tickets, and what a scanned code is."""
