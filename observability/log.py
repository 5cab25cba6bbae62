"""Logging: structlog everywhere, one JSON line per event off a terminal.

Inside a Thespian actor the root logger forwards records to Thespian's logger process, so an
actor must not add handlers or call dictConfig (THESPIAN.md §6): it renders each event to a
JSON string with structlog and hands it to stdlib logging. The logger process writes them with
`JsonLineFormatter`, which passes structlog's JSON through and wraps Thespian's own records.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import structlog

_configured_pid: int | None = None


def configure_structlog(*, console: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog once per process (actors call it in __init__; forks inherit state)."""
    global _configured_pid
    if _configured_pid == os.getpid():
        return
    _configured_pid = os.getpid()
    if console is None:
        console = sys.stderr.isatty() and not _inside_actor()
    renderer: Any = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_pid,
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    if not _inside_actor() and not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)


def _add_pid(logger: Any, method: str, event: dict) -> dict:
    """Every actor is a process: the pid says which one logged (and which one to look at)."""
    event["pid"] = os.getpid()
    return event


def _inside_actor() -> bool:
    return type(logging.getLogger()).__name__ == "ThespianLogForwarder"


def get_logger(name: str, **bound: Any) -> structlog.stdlib.BoundLogger:
    """A lazy logger: it takes structlog's configuration when it logs, not when it is created, so
    a module-level logger follows `configure_structlog()` (and a test's `capture_logs()`) made later."""
    return structlog.get_logger(name, **bound)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: structlog's lines unchanged, other records wrapped."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        actor = getattr(record, "actorAddress", None)
        if message.startswith("{"):
            try:
                event = json.loads(message)
            except ValueError:
                event = None
            if isinstance(event, dict):
                if actor and "actor" not in event:
                    event["actor"] = str(actor)
                return json.dumps(event, default=str)
        event = {
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": message,
        }
        if actor:
            event["actor"] = str(actor)
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


def thespian_log_defs(log_dir: Path, level: int = logging.INFO) -> dict:
    """logDefs for multiprocTCPBase: a rotating JSON-lines file plus WARNING and up on stderr."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "observability.log.JsonLineFormatter"}},
        "handlers": {
            "file": {
                "class": "logging.handlers.RotatingFileHandler",
                "filename": str(log_dir / "gateway.jsonl"),
                "maxBytes": 10 * 1024 * 1024,
                "backupCount": 5,
                "formatter": "json",
                "level": level,
            },
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "level": logging.WARNING,
            },
        },
        "root": {"handlers": ["file", "stderr"], "level": level},
    }
