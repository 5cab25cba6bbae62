"""Another revision of this repository, checked out and given an interpreter that can run it.

Used by `bench/scale.py --compare REV`: REV is checked out into a temporary git worktree (never
into the caller's checkout), and gets a virtual environment of its own only when its
[project].dependencies differ from this tree's, since installing them takes minutes and the
interpreter running the benchmark is otherwise the right one. Everything is removed on the way
out, also after an error or Ctrl-C.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT_S = 1800  # a full dependency install from the package index, with some margin
GIT_TIMEOUT_S = 120


class CompareError(Exception):
    """A comparison that cannot go on; the message is the one line shown to the user."""


@dataclass(frozen=True)
class RevisionTree:
    """A checked-out revision: its root, its commit, and the interpreter to run it with."""

    rev: str
    commit: str
    root: Path
    python: str
    own_environment: bool


def normalized_requirements(requirements: list[str]) -> list[str]:
    """Requirement strings compared as pip reads them: case and spaces do not matter, nor order."""
    return sorted("".join(r.split()).lower() for r in requirements)


def dependencies_differ(ours: list[str], theirs: list[str]) -> bool:
    return normalized_requirements(ours) != normalized_requirements(theirs)


def project_requirements(root: Path, label: str) -> tuple[list[str], list[str]]:
    """([project].dependencies, the `test` extra) of the tree at root; the extra holds psutil."""
    pyproject = root / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except FileNotFoundError:
        raise CompareError(f"{label} has no pyproject.toml: cannot tell which dependencies it needs") from None
    except tomllib.TOMLDecodeError as error:
        raise CompareError(f"{label}'s pyproject.toml is not valid TOML: {error}") from None
    return list(project.get("dependencies", [])), list(project.get("optional-dependencies", {}).get("test", []))


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_S)


def resolve_commit(repo: Path, rev: str) -> str:
    """The commit REV names, or a CompareError saying git does not know it."""
    if rev.startswith("-"):
        raise CompareError(f"unknown revision {rev!r}: a revision cannot start with '-'")
    found = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0:
        raise CompareError(f"unknown revision {rev!r}: git knows no commit by that name in this repository")
    return found.stdout.strip()


@contextmanager
def checked_out(repo: Path, rev: str) -> Iterator[RevisionTree]:
    """REV in a detached temporary worktree of repo, with its interpreter; all removed afterwards."""
    commit = resolve_commit(repo, rev)
    holder = Path(tempfile.mkdtemp(prefix="btms-compare-"))
    root = holder / "tree"
    try:
        added = git(repo, "worktree", "add", "--detach", str(root), commit)
        if added.returncode != 0:
            raise CompareError(f"git worktree add {rev} failed: {last_line(added.stderr)}")
        print(f"checked out {rev} ({commit[:10]}) into a temporary worktree", flush=True)
        python, own = interpreter_for(repo, root, holder / "venv", rev)
        yield RevisionTree(rev, commit, root, python, own)
    finally:
        with sigint_held():
            git(repo, "worktree", "remove", "--force", str(root))
            shutil.rmtree(holder, ignore_errors=True)
            git(repo, "worktree", "prune")


def interpreter_for(repo: Path, root: Path, venv: Path, rev: str) -> tuple[str, bool]:
    """sys.executable when REV needs what this tree needs, else a new venv with REV's dependencies."""
    ours, _ = project_requirements(repo, "this tree")
    theirs, test_extra = project_requirements(root, rev)
    if not dependencies_differ(ours, theirs):
        print(f"{rev} has the same dependencies: using this interpreter", flush=True)
        return sys.executable, False
    print(f"{rev} has other dependencies: installing them into a temporary virtual environment", flush=True)
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=GIT_TIMEOUT_S
    )
    if created.returncode != 0:
        raise CompareError(f"could not create a virtual environment for {rev}: {last_line(created.stderr)}")
    python = str(venv / "bin" / "python")
    # The requirements themselves, not the tree: the benchmark imports the tree from PYTHONPATH.
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", *theirs, *test_extra],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if installed.returncode != 0:
        raise CompareError(f"installing {rev}'s dependencies failed: {last_line(installed.stderr)}")
    return python, True


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


@contextmanager
def sigint_held() -> Iterator[None]:
    """Ignore a second Ctrl-C while cleaning up, so the worktree is not left half removed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
