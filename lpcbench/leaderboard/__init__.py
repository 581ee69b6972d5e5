"""Leaderboard entries: the schema, its JSON Schema file, atomic writes and checked reads."""

from lpcbench.leaderboard.schema import SCHEMA_VERSION, EntryError, LeaderboardEntry, Statistic, read_entries, validate, write_entry

__all__ = ["SCHEMA_VERSION", "EntryError", "LeaderboardEntry", "Statistic", "read_entries", "validate", "write_entry"]
