"""The YAML node tree of a topology file, read within the limits of `topology.limits`.

PyYAML's `compose()` gives nodes with line numbers and builds no Python object, so no YAML tag
can run code. It has no limits of its own: it reads a file of any size, recurses once per
level of nesting (a deep file exhausts Python's stack) and shares the node of an anchor with
every alias of it, so a few KB of aliases stand for millions of values that the checks would
then walk one by one. `_BoundedLoader` counts, while it composes, how deep the values nest
and how many values the file stands for with every alias expanded, and stops at the first
value past a limit with the line of that value.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from topology.limits import MAX_FILE_BYTES, MAX_NESTING_DEPTH, MAX_VALUES, MAX_YAML_MESSAGE_LENGTH
from topology.problems import ProblemLog, shortened


class _OverLimit(Exception):
    """The file goes past a limit at `line`; composing stops there."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1
        self.message = message


class _BoundedLoader(yaml.SafeLoader):
    """A safe composer that refuses, while composing, a file nesting or expanding too far.

    For every node it keeps how many values it stands for (itself and everything inside it,
    aliases expanded) and how many levels of mappings and lists it holds, so an alias is
    counted at its full size in O(1) without walking what it repeats.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0  # mappings and lists open around the node being composed
        self._values = 0  # values composed so far, an alias counting as all it repeats
        self._size: dict[int, int] = {}  # id(node) -> values it stands for
        self._levels: dict[int, int] = {}  # id(node) -> levels of mappings and lists in it
        self._open_anchors: set[str] = set()  # anchors whose value is being composed

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event)
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark.line + 1
            raise _OverLimit(
                event.start_mark, f"the anchor &{shortened(anchor)} is defined twice (first at line {first})"
            )
        is_collection = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self._count(event.start_mark, 1, self._depth + is_collection)
        if anchor is not None:
            self._open_anchors.add(anchor)
        self._depth += is_collection
        node = super().compose_node(parent, index)
        self._depth -= is_collection
        self._open_anchors.discard(anchor)  # type: ignore[arg-type]
        inside = _children(node)
        self._size[id(node)] = 1 + sum(self._size[id(child)] for child in inside)
        self._levels[id(node)] = is_collection + max((self._levels[id(child)] for child in inside), default=0)
        return node

    def _alias(self, event: yaml.AliasEvent) -> yaml.Node:
        name = event.anchor
        if name in self._open_anchors:
            raise _OverLimit(
                event.start_mark,
                f"the alias *{shortened(name)} is inside the value of its own anchor; it would repeat forever",
            )
        if name not in self.anchors:
            raise _OverLimit(
                event.start_mark, f"the alias *{shortened(name)} has no anchor &{shortened(name)} before it"
            )
        self.get_event()
        node = self.anchors[name]
        self._count(event.start_mark, self._size[id(node)], self._depth + self._levels[id(node)])
        return node

    def _count(self, mark: yaml.Mark, values: int, depth: int) -> None:
        self._values += values
        if depth > MAX_NESTING_DEPTH:
            raise _OverLimit(
                mark,
                f"mappings and lists nest more than {MAX_NESTING_DEPTH} levels deep here "
                "(an alias counts as the levels it repeats); a topology needs 6",
            )
        if self._values > MAX_VALUES:
            raise _OverLimit(
                mark,
                f"the file holds more than {MAX_VALUES} values (an alias counts as every value it "
                "repeats); a fully equipped gateway needs about 2600",
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def compose_file(path: Path, log: ProblemLog) -> yaml.Node | None:
    """The YAML node tree of the file, or None after reporting why there is none."""
    text = _read_text(path, log)
    if text is None:
        return None
    loader = None
    try:
        loader = _BoundedLoader(text)
        root = loader.get_single_node()
    except _OverLimit as e:
        log.add(e.line, e.message)
        return None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = e.problem or e.context or "unreadable YAML"
        if e.context and e.problem and e.problem.startswith("but "):  # "expected X, but found Y"
            what = f"{e.context}, {e.problem}"
        elif e.context and e.problem and e.context_mark is not None:
            what += f" ({e.context} started at line {e.context_mark.line + 1})"
        log.add(line, f"YAML syntax error: {shortened(what, MAX_YAML_MESSAGE_LENGTH)}")
        return None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (control codes ...)
        log.add(text[: e.position].count("\n") + 1, f"YAML syntax error: {e.reason}")
        return None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        log.add(1, "the file is empty; it must describe the gateway, its buses and its UPSes")
        return None
    return root


def _read_text(path: Path, log: ProblemLog) -> str | None:
    """The file as text, read no further than MAX_FILE_BYTES; None after reporting why not."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        log.add(1, f"cannot read the file: {e.strerror or e}")
        return None
    if len(raw) > MAX_FILE_BYTES:
        log.add(
            None,
            f"the file is larger than {MAX_FILE_BYTES} bytes ({MAX_FILE_BYTES / 2**20:g} MiB), the most "
            "a topology may be; a fully equipped gateway's file is about 20 KB",
        )
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        log.add(raw[: e.start].count(b"\n") + 1, "the file is not UTF-8 text")
        return None
