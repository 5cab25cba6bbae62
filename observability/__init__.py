"""Logging shared by every process (structlog key-value events)."""
