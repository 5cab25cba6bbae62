"""What is wrong with a topology file, said as `FILE:LINE: what is wrong`.

The loader collects every problem instead of stopping at the first one, so that an
installer fixes a file in one pass; `btms check` prints them and `btms run` refuses to
start with the same list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem of a topology file; `line` is 1-based, as editors show it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class TopologyError(Exception):
    """A topology file that cannot be used; `.problems` lists every problem, sorted by line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProblemLog:
    """Collects the problems of one file while it is read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: p.line)

    def __len__(self) -> int:
        return len(self.problems)
