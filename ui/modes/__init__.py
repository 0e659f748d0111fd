"""The station's screens (modes): Check-in, Timing, Results, Setup, Sync."""
