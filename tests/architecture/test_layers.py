"""The architecture as tests: the import layers, module size, and tests that stand alone.

The layers are declared once, as import-linter contracts in pyproject.toml; scripts/test runs
`lint-imports` before the tests. These tests show that a violation fails with the offending import
named, and hold the house rules the contracts cannot express.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

PACKAGES = (
    "battery",
    "topology",
    "observability",
    "storage",
    "protocols",
    "sim",
    "actors",
    "web",
    "aggregator",
    "btms",
)
MAX_MODULE_LINES = 500


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run(
        [*command, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_a_domain_module_importing_an_actor_fails_naming_the_import(tree_copy: Path) -> None:
    offender = tree_copy / "battery" / "offender.py"
    offender.write_text("from actors.site.gateway import Gateway  # a layer violation\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        offender.unlink()
    assert result.returncode != 0
    assert "battery.offender -> actors.site.gateway" in result.stdout


def test_a_child_importing_its_parent_fails(tree_copy: Path) -> None:
    offender = tree_copy / "actors" / "device" / "offender.py"
    offender.write_text("from actors.ups.ups import Ups\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        offender.unlink()
    assert result.returncode != 0
    assert "actors.device.offender -> actors.ups.ups" in result.stdout


@pytest.mark.parametrize("package", ["actors/string", "battery"])
def test_a_gateway_module_reading_the_simulators_truth_fails(tree_copy: Path, package: str) -> None:
    offender = tree_copy / package / "offender.py"
    offender.write_text("from sim.battery_params import KIBAM_TIME_CONSTANT_S  # the answer sheet\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        offender.unlink()
    assert result.returncode != 0
    module = package.replace("/", ".") + ".offender"
    assert f"{module} -> sim.battery_params" in result.stdout


def _modules() -> list[Path]:
    """Every module of the product, its tests and its benchmarks."""
    folders = (*PACKAGES, "tests", "bench", "scripts")
    return [p for folder in folders for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts]


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules (one concept per file): {long}"


def test_no_test_imports_another_test_module() -> None:
    """Shared builders live in tests/factories.py and the support modules, never in a test module."""
    offenders = []
    for path in (REPO / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[-1].startswith("test_"):
                offenders.append(f"{path.relative_to(REPO)}: from {node.module}")
    assert not offenders, offenders
