"""Persistence: the SQLite event store, the settings file and keyring access (no Qt)."""
