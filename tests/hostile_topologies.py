"""Hostile topology files that once crashed or exhausted `btms check`, built from the demo file.

Each is a `Hostile` with the line its problem must be reported at (None: a problem of the
whole file) and words the message must contain. The unit tests load them in-process; the CLI
test runs `btms check` on them as a real process with bounded time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO_TEXT = (REPO / "topology.yaml").read_text()
DEMO_NAME = "name: Demo data center"
NAME_LINE = next(n for n, line in enumerate(DEMO_TEXT.splitlines(), start=1) if line.startswith(f"  {DEMO_NAME}"))
ADMIN_LINE = NAME_LINE + 1  # the hostile values below are put on a line of their own after the name

STRING = "{id: S, bus: sim, address: 1, battery: {nominal_voltage: 12, capacity_ah: 100, count: 40}, hall_range_a: 500}"


@dataclass(frozen=True)
class Hostile:
    name: str
    text: str
    line: int | None
    says: str  # words of the one problem the loader must report at `line`


def demo_with_gateway_line(line: str) -> str:
    """The demo file with one more line in its `gateway` section, right after the name."""
    return DEMO_TEXT.replace(f"  {DEMO_NAME}", f"  {DEMO_NAME}\n  {line}", 1)


def deep_nesting(levels: int = 100_000) -> Hostile:
    """Flow lists inside each other: PyYAML composes recursively (was a RecursionError)."""
    return Hostile("deep_nesting", demo_with_gateway_line("admin_port: " + "[" * levels + "]" * levels),
                   ADMIN_LINE, "nest more than 32 levels")  # fmt: skip


def deep_block_nesting(levels: int = 1000) -> Hostile:
    """The same with indented block lists (`- - - ...`)."""
    lines = "\n".join(" " * (2 + n) + "-" for n in range(levels))
    text = DEMO_TEXT.replace(f"  {DEMO_NAME}", f"  {DEMO_NAME}\n  admin_port:\n{lines}", 1)
    # The file and `gateway` are levels 1 and 2: the 31st list, on the 31st line after it, is level 33.
    return Hostile("deep_block_nesting", text, ADMIN_LINE + 31, "nest more than 32 levels")


def long_number(digits: int = 100_000) -> Hostile:
    """A decimal number past Python's 4,300-digit conversion limit (was a ValueError)."""
    return Hostile("long_number", demo_with_gateway_line("admin_port: " + "9" * digits),
                   ADMIN_LINE, f"a number of {digits} characters is too long")  # fmt: skip


def long_hex_number(hex_digits: int = 4000) -> Hostile:
    """Converts fine, but has 4,800 decimal digits: the message printing it raised ValueError."""
    return Hostile("long_hex_number", demo_with_gateway_line("admin_port: 0x" + "f" * hex_digits),
                   ADMIN_LINE, f"a number of {hex_digits + 2} characters is too long")  # fmt: skip


def alias_bomb(copies: int = 1000) -> Hostile:
    """A "billion laughs": `copies` UPSes each holding `copies` strings, in a file of a few KB.

    With 1000, a file of 9.6 KB stands for a million strings, each read and checked by the old loader.
    """
    strings = "[&s " + STRING + ", *s" * (copies - 1) + "]"
    upses = "upses: [&u {id: U, strings: " + strings + "}" + ", *u" * (copies - 1) + "]\n"
    head, _, _ = DEMO_TEXT.partition("\nupses:\n")
    text = head + "\n" + upses
    return Hostile("alias_bomb", text, text.count("\n"), "more than 20000 values")


def huge_file_name(characters: int = 10_000_000) -> Hostile:
    """A 10 MB gateway name (was accepted): the file is over the size limit."""
    return Hostile("huge_file_name", DEMO_TEXT.replace(DEMO_NAME, "name: " + "N" * characters, 1),
                   None, "the file is larger than 1048576 bytes")  # fmt: skip


def long_name(characters: int = 500_000) -> Hostile:
    """A name that fits in the file but is far longer than a name shown to operators."""
    return Hostile("long_name", DEMO_TEXT.replace(DEMO_NAME, "name: " + "N" * characters, 1),
                   NAME_LINE, "is too long: at most 200 characters")  # fmt: skip


def long_id(characters: int = 500_000) -> Hostile:
    return Hostile("long_id", DEMO_TEXT.replace("id: gw1 ", "id: " + "g" * characters + " ", 1),
                   NAME_LINE - 1, "is too long: at most 32 characters")  # fmt: skip


def all_hostile() -> list[Hostile]:
    return [deep_nesting(), deep_block_nesting(), long_number(), long_hex_number(), alias_bomb(),
            huge_file_name(), long_name(), long_id()]  # fmt: skip
