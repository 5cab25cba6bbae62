"""The product's name and version, as the gateway presents itself to the outside (SNMP sysDescr).

The version is the installed package's (`btms-gateway`); a checkout that was never installed
reads it from pyproject.toml. Nothing about the runtime (Python, pysnmp) is disclosed: whoever
probes the gateway for a vulnerable library version learns nothing from it.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

PRODUCT_NAME = "BTMS gateway"
DISTRIBUTION = "btms-gateway"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def product_version(distribution: str = DISTRIBUTION, pyproject: Path = PYPROJECT) -> str:
    """The installed version, else pyproject's, else "unknown" (never an exception: it only labels)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return "unknown"


def product_description() -> str:
    """What sysDescr says: "BTMS gateway 0.1.0"."""
    return f"{PRODUCT_NAME} {product_version()}"
