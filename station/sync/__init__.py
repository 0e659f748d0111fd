"""Sync: the offline-first push/pull engine and the results publisher."""
