"""SNMP access pieces without a network: the declared AES dependency, secrets kept out of reprs,
write access denied, and the product name and version sysDescr is built from."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from pysnmp.entity import engine
from pysnmp.proto import error as pysnmp_error
from pysnmp.proto.secmod.rfc3826.priv import aes as pysnmp_aes

from observability.product import PRODUCT_NAME, product_description, product_version
from protocols.scada.snmp_access import (
    READABLE_SUBTREES,
    SnmpV3User,
    configure_access,
    v2c_security_name,
)
from tests.support import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
DEPENDENCIES = {r.name: r for r in map(Requirement, PROJECT["dependencies"])}


def test_the_package_pysnmps_aes_needs_is_declared_and_installed() -> None:
    crypto = DEPENDENCIES.get("cryptography")
    assert crypto is not None, "pyproject.toml [project].dependencies must list cryptography (pysnmp's AES)"
    assert not crypto.specifier.contains("46.0.0") and crypto.specifier.contains("47.0.0")  # decrepit CFB: 47+
    assert crypto.specifier.contains(importlib.metadata.version("cryptography"))
    assert not DEPENDENCIES["pysnmp"].specifier.contains("7.1.29")  # takes CFB where cryptography 49 removed it
    assert not pysnmp_aes.PysnmpCryptoError  # pysnmp could import what its AES needs


def test_a_v3_users_repr_shows_no_passphrase() -> None:
    user = SnmpV3User("nms", "auth-secret-1", "priv-secret-1")
    assert "nms" in repr(user)
    assert "auth-secret-1" not in repr(user) and "priv-secret-1" not in repr(user)


def test_nobody_may_write_or_be_notified_and_reads_stop_at_the_served_subtrees() -> None:
    """pysnmp's VACM treats a view with no entries as everything: every access must name a real view."""
    eng = engine.SnmpEngine()
    configure_access(eng, "community-1", [SnmpV3User("nms", "auth-pass-1", "priv-pass-1")], ["", "ups1"])
    vacm = eng.access_control_model[3]
    readers = [
        (2, v2c_security_name("").encode(), 1, b""),
        (2, v2c_security_name("ups1").encode(), 1, b"ups1"),
        (3, b"nms", 3, b""),
        (3, b"nms", 3, b"ups1"),
    ]  # (model, security name, level, context)
    for model, name, level, context in readers:
        for subtree in READABLE_SUBTREES:
            vacm.is_access_allowed(eng, model, name, level, "read", context, subtree + (1, 0))  # no raise: allowed
        for kind, oid in (
            ("read", (1, 3, 6, 1, 6, 3, 15, 1, 2, 2, 1, 1)),
            ("read", (1, 3, 6, 1, 4, 1, 20408, 3)),
            ("write", READABLE_SUBTREES[2] + (1, 0)),
            ("notify", READABLE_SUBTREES[0] + (1, 0)),
        ):
            with pytest.raises(pysnmp_error.StatusInformation):
                vacm.is_access_allowed(eng, model, name, level, kind, context, oid)


def test_product_version_is_the_installed_one_else_pyprojects(tmp_path: Path) -> None:
    assert product_version() == importlib.metadata.version("btms-gateway")
    assert product_version(distribution="btms-gateway-never-installed") == PROJECT["version"]
    assert product_version(distribution="btms-gateway-never-installed", pyproject=tmp_path / "none.toml") == "unknown"
    (tmp_path / "broken.toml").write_text("[project\nversion = ")
    assert product_version(distribution="btms-gateway-never-installed", pyproject=tmp_path / "broken.toml") == "unknown"
    assert product_description() == f"{PRODUCT_NAME} {product_version()}" == f"BTMS gateway {product_version()}"
