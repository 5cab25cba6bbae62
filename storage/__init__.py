"""The storage engine: sample history, the alarm table, settings and snapshots on disk (no actors)."""
