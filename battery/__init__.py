"""The battery domain: codes, plausibility, battery maths, freshness and alarm rules.

Pure: no actors, no I/O, no threads. Every other package may import it; it imports none of
them (an import-linter contract in pyproject.toml keeps it so).
"""
