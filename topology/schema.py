"""Reading typed values out of a PyYAML node tree, reporting each bad value at its line.

PyYAML's `compose()` gives nodes that carry their position (`start_mark.line`, 0-based) but
no Python values yet. `Section` wraps one YAML mapping: it checks the keys (unknown,
duplicated), converts each scalar with the safe constructor only (python tags and other
custom tags are refused) and checks type and range, so that every problem names the file,
the line and the key path. A bad value is reported and read as None; the loader keeps going
to find every other problem.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Sequence
from typing import Final

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from topology.limits import MAX_NUMBER_LENGTH, MAX_TEXT_LENGTH
from topology.problems import ProblemLog, quoted, shortened

_TAG = "tag:yaml.org,2002:"
_SAFE_SCALAR_TAGS: Final = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_STANDARD_TAGS: Final = _SAFE_SCALAR_TAGS | {_TAG + "map", _TAG + "seq"}
_NUMBER_TAGS: Final = frozenset({_TAG + "int", _TAG + "float"})


class _Required:
    """Marks a key that has no default (the sentinel of `Section` readers)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


def line_of(node: yaml.Node) -> int:
    """The 1-based line of a node, as editors number lines."""
    return node.start_mark.line + 1


def describe(node: yaml.Node) -> str:
    """How a value looks to the installer, for "must be X, got Y" messages."""
    if node.tag not in _STANDARD_TAGS:
        return f"a value tagged {shortened(node.tag)}"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.removeprefix(_TAG)
    kinds = {
        "str": "the text",
        "int": "the whole number",
        "float": "the number",
        "bool": "the truth value",
        "timestamp": "the date",
    }
    if tag == "null":
        return "nothing"
    return f"{kinds[tag]} {quoted(node.value)}" if tag == "str" else f"{kinds[tag]} {shortened(node.value)}"


class Section:
    """One YAML mapping of the topology (e.g. `upses[0].strings[1]`), read key by key."""

    def __init__(
        self,
        log: ProblemLog,
        node: yaml.Node | None,
        path: str,
        allowed: Sequence[str],
        *,
        line: int = 1,
        broken: bool = False,
    ) -> None:
        self.log = log
        self.path = path
        self.allowed = tuple(allowed)
        self.line = line_of(node) if node is not None else line
        self._values: dict[str, yaml.Node] = {}
        self._keys: dict[str, yaml.Node] = {}
        self._constructor = SafeConstructor()
        # A section that is itself wrong (or missing though required) was reported once;
        # its missing keys are not reported again one by one.
        self.broken = broken
        if node is None or _is_null(node):
            return  # an absent or empty section: every key takes its default
        if node.tag not in _STANDARD_TAGS:
            self.log.add(self.line, f"{path or 'the file'}: the tag {shortened(node.tag)} is not allowed here")
            self.broken = True
            return
        if not isinstance(node, yaml.MappingNode):
            self.log.add(
                self.line,
                f"{path or 'the file'}: must be a mapping with the keys {', '.join(self.allowed)}; "
                f"got {describe(node)}",
            )
            self.broken = True
            return
        for key_node, value_node in node.value:
            self._add_key(key_node, value_node)

    def _add_key(self, key_node: yaml.Node, value_node: yaml.Node) -> None:
        if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _TAG + "str"):
            self.log.add(
                line_of(key_node),
                f"{self.path}: keys must be names; got {describe(key_node)}",
            )
            return
        key = key_node.value
        if key not in self.allowed:
            hint = difflib.get_close_matches(shortened(key), self.allowed, n=1)
            did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
            self.log.add(
                line_of(key_node),
                f"{self._at(shortened(key))}: unknown key{did_you_mean}; allowed keys here: {', '.join(self.allowed)}",
            )
            return
        if key in self._keys:
            self.log.add(
                line_of(key_node),
                f"{self._at(key)}: appears twice in the same mapping (first at line {line_of(self._keys[key])})",
            )
            return
        self._keys[key] = key_node
        self._values[key] = value_node

    # -- where things are -------------------------------------------------------------

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def is_empty_list(self, key: str) -> bool:
        """Whether a list key is absent, empty or `[]` (not: holds something that is no list)."""
        node = self._values.get(key)
        return node is None or _is_null(node) or (isinstance(node, yaml.SequenceNode) and not node.value)

    def has(self, key: str) -> bool:
        return key in self._values and not _is_null(self._values[key])

    def line_of(self, key: str) -> int:
        """The line of a key's value, or of the section when the key is absent."""
        node = self._values.get(key)
        return line_of(node) if node is not None else self.line

    def problem(self, key: str, message: str) -> None:
        """Report a problem of one key (at its line), for the loader's cross-checks."""
        self.log.add(self.line_of(key), f"{self._at(key)}: {message}")

    # -- typed readers ----------------------------------------------------------------

    def _scalar(self, key: str, default: object, expected: str) -> tuple[str, object]:
        """("given", value), ("default", default) or ("bad", None) after reporting why."""
        node = self._values.get(key)
        if node is None or _is_null(node):
            if default is REQUIRED:
                if self.broken:
                    return "bad", None
                said = "has no value" if node is not None else "is missing"
                self.log.add(self.line_of(key), f"{self._at(key)}: {said}; expected {expected}")
                return "bad", None
            return "default", default
        if node.tag not in _STANDARD_TAGS:
            self.problem(key, f"the tag {shortened(node.tag)} is not allowed here; expected {expected}")
            return "bad", None
        if not isinstance(node, yaml.ScalarNode):
            self.problem(key, f"must be {expected}; got {describe(node)}")
            return "bad", None
        if node.tag not in _SAFE_SCALAR_TAGS:
            self.problem(key, f"the tag {shortened(node.tag)} is not allowed here; expected {expected}")
            return "bad", None
        try:
            return "given", self._construct(node)
        except ConstructorError as e:
            self.problem(key, f"{e.problem}; expected {expected}")
            return "bad", None

    def _construct(self, node: yaml.ScalarNode) -> object:
        """The Python value of a safe scalar; a number too long to be one is refused unconverted."""
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_LENGTH:
            raise ConstructorError(
                problem=f"a number of {len(node.value)} characters is too long (at most {MAX_NUMBER_LENGTH})"
            )
        try:
            return self._constructor.construct_object(node)
        except ValueError as e:  # a date that matches YAML's pattern but not the calendar
            raise ConstructorError(problem=f"{describe(node)} cannot be read: {e}") from None

    def text(
        self,
        key: str,
        default: str | None | _Required = REQUIRED,
        *,
        pattern: re.Pattern[str] | None = None,
        pattern_says: str = "",
        choices: Sequence[str] = (),
        max_length: int = MAX_TEXT_LENGTH,
    ) -> str | None:
        """Text of at most `max_length` characters (ids and names pass their own, shorter limit)."""
        expected = f"one of {', '.join(choices)}" if choices else "text"
        state, value = self._scalar(key, default, expected)
        if state != "given":
            return value  # type: ignore[return-value]
        if not isinstance(value, str):
            node = self._values[key]
            self.problem(key, f"must be {expected}; got {describe(node)} (put it in quotes)")
            return None
        if len(value) > max_length:
            self.problem(key, f"{quoted(value)} is too long: at most {max_length} characters are allowed here")
            return None
        if choices and value not in choices:
            self.problem(key, f"{quoted(value)} is not one of {', '.join(choices)}")
            return None
        if not value.strip():
            self.problem(key, "must not be empty")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(key, f"{quoted(value)} {pattern_says or 'is not valid here'}")
            return None
        return value

    def integer(
        self,
        key: str,
        default: int | None | _Required = REQUIRED,
        *,
        lo: int | None = None,
        hi: int | None = None,
        too_high: str = "",
        allowed: Sequence[int] = (),
    ) -> int | None:
        """A whole number; `too_high` completes "N is more than ..." with the reason of the limit."""
        state, value = self._scalar(key, default, "a whole number")
        if state != "given":
            return value  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"must be a whole number; got {describe(self._values[key])}")
            return None
        if allowed and value not in allowed:
            self.problem(key, f"{value} is not one of {', '.join(str(a) for a in allowed)}")
            return None
        if lo is not None and value < lo:
            self.problem(key, f"{value} is less than {lo}, the smallest allowed")
            return None
        if hi is not None and value > hi:
            reason = too_high or f"{hi}, the largest allowed"
            self.problem(key, f"{value} is more than {reason}")
            return None
        return value

    def number(
        self,
        key: str,
        default: float | None | _Required = REQUIRED,
        *,
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
        unit: str = "",
    ) -> float | None:
        state, value = self._scalar(key, default, "a number")
        if state != "given":
            return value  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(key, f"must be a number; got {describe(self._values[key])}")
            return None
        if not math.isfinite(value):
            self.problem(key, f"must be a finite number; got {value}")
            return None
        u = f" {unit}" if unit else ""
        if gt is not None and not value > gt:
            self.problem(key, f"{value}{u} must be more than {gt}{u}")
            return None
        if ge is not None and not value >= ge:
            self.problem(key, f"{value}{u} is less than {ge}{u}, the smallest allowed")
            return None
        if le is not None and not value <= le:
            self.problem(key, f"{value}{u} is more than {le}{u}, the largest allowed")
            return None
        return float(value)

    def boolean(self, key: str, default: bool | _Required = REQUIRED) -> bool | None:
        state, value = self._scalar(key, default, "true or false")
        if state != "given":
            return value  # type: ignore[return-value]
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false; got {describe(self._values[key])}")
            return None
        return value

    def section(self, key: str, allowed: Sequence[str], *, required: bool = False) -> Section:
        """A nested mapping; absent or empty reads as a section of defaults."""
        node = self._values.get(key)
        missing = required and (node is None or _is_null(node))
        if missing and not self.broken:
            self.log.add(self.line_of(key), f"{self._at(key)}: is missing")
        broken = self.broken or missing
        return Section(self.log, node, self._at(key), allowed, line=self.line_of(key), broken=broken)

    def items(self, key: str, *, required: bool = False) -> Iterator[tuple[str, yaml.Node]]:
        """The elements of a list with their paths (`upses[0]`); absent or empty = no items."""
        node = self._values.get(key)
        if node is None or _is_null(node):
            if required and not self.broken:
                self.log.add(self.line_of(key), f"{self._at(key)}: is missing or empty")
            return
        if node.tag not in _STANDARD_TAGS:
            self.problem(key, f"the tag {node.tag} is not allowed here")
            return
        if not isinstance(node, yaml.SequenceNode):
            self.problem(key, f"must be a list; got {describe(node)}")
            return
        for i, item in enumerate(node.value):
            yield f"{self._at(key)}[{i}]", item

    def text_list(self, key: str) -> list[tuple[str, int]]:
        """A list of texts, each with its line (IP addresses, trap receivers)."""
        out: list[tuple[str, int]] = []
        for path, item in self.items(key):
            if not (isinstance(item, yaml.ScalarNode) and item.tag == _TAG + "str" and item.value.strip()):
                self.log.add(line_of(item), f"{path}: must be text; got {describe(item)}")
            elif len(item.value) > MAX_TEXT_LENGTH:
                too_long = f"is too long: at most {MAX_TEXT_LENGTH} characters"
                self.log.add(line_of(item), f"{path}: {quoted(item.value)} {too_long}")
            else:
                out.append((item.value, line_of(item)))
        return out

    def number_mapping(self, key: str) -> list[tuple[str, float, int]]:
        """A mapping of names to numbers (alarm limit overrides), each with its line."""
        sub = self._values.get(key)
        if sub is None or _is_null(sub):
            return []
        if not isinstance(sub, yaml.MappingNode) or sub.tag != _TAG + "map":
            self.problem(key, f"must be a mapping of names to numbers; got {describe(sub)}")
            return []
        out: list[tuple[str, float, int]] = []
        seen: dict[str, int] = {}
        for key_node, value_node in sub.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _TAG + "str"):
                self.log.add(line_of(key_node), f"{self._at(key)}: keys must be names; got {describe(key_node)}")
                continue
            name = key_node.value
            where = f"{self._at(key)}.{shortened(name)}"
            if name in seen:
                self.log.add(line_of(key_node), f"{where}: appears twice (first at line {seen[name]})")
                continue
            seen[name] = line_of(key_node)
            try:
                is_number = isinstance(value_node, yaml.ScalarNode) and value_node.tag in _NUMBER_TAGS
                value = self._construct(value_node) if is_number else None
            except ConstructorError as e:
                self.log.add(line_of(value_node), f"{where}: {e.problem}")
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                self.log.add(line_of(value_node), f"{where}: must be a number; got {describe(value_node)}")
                continue
            out.append((name, float(value), line_of(key_node)))
        return out


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null"
