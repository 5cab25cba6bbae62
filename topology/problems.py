"""What is wrong with a topology file, said as `FILE:LINE: what is wrong`.

The loader collects every problem instead of stopping at the first one, so that an
installer fixes a file in one pass; `btms check` prints them and `btms run` refuses to
start with the same list. A problem of the whole file (it is too large) has no line and
prints as `FILE: what is wrong`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from topology.limits import MAX_LISTED_IDS, MAX_PROBLEMS_SHOWN, MAX_QUOTED_LENGTH


@dataclass(frozen=True)
class Problem:
    """One problem of a topology file; `line` is 1-based, as editors show it, or None."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


def _by_line(problem: Problem) -> int:
    return problem.line or 0  # problems of the whole file first


def shown_problems(problems: Sequence[Problem]) -> list[str]:
    """The lines to print: the first MAX_PROBLEMS_SHOWN problems, then how many more there are."""
    lines = [str(p) for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
    return lines


class TopologyError(Exception):
    """A topology file that cannot be used; `.problems` lists every problem, sorted by line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_by_line)
        super().__init__("\n".join(shown_problems(self.problems)))


class ProblemLog:
    """Collects the problems of one file while it is read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=_by_line)

    def __len__(self) -> int:
        return len(self.problems)


def shortened(text: str, limit: int = MAX_QUOTED_LENGTH) -> str:
    """Text from the file as a message shows it: on one line (line breaks and control characters
    escaped as in Python, `\\n`) and cut after `limit` characters."""
    shown = text[:limit]
    if not shown.isprintable():
        shown = repr(shown)[1:-1]
    return shown if len(text) <= limit else f"{shown}... ({len(text)} characters)"


def quoted(text: str) -> str:
    """A value from the file in quotes (`'S9'`), cut like `shortened` when it is long."""
    if len(text) <= MAX_QUOTED_LENGTH:
        return repr(text)
    return f"{text[:MAX_QUOTED_LENGTH]!r}... ({len(text)} characters)"


def listing(ids: Sequence[str], none: str = "none defined") -> str:
    """Known ids for a message ("rs1, rs2"): at most MAX_LISTED_IDS, each shortened."""
    if not ids:
        return none
    shown = ", ".join(shortened(i) for i in ids[:MAX_LISTED_IDS])
    more = len(ids) - MAX_LISTED_IDS
    return f"{shown} and {more} more" if more > 0 else shown
