"""One request of the simulator's fault control channel, read with its parameters' types checked.

A request is a JSON object on one line. Everything about it can be wrong: the line is not UTF-8
or not JSON, the command or a parameter is unknown, a value has the wrong type (`"on": "yes"`,
`"input": null`) or is not finite (JSON's NaN and Infinity). Each is a `ControlError` whose text
names the command, the parameter and the value, so that the client can fix its request; the
channel answers it and reads the next line. Nothing is coerced: `bool("no")` is True.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Mapping
from typing import Any

MAX_SHOWN_CHARS = 60  # of a wrong value quoted back in an error


class ControlError(ValueError):
    """A control request that cannot be carried out; the text goes back to the client."""


def shown(value: Any) -> str:
    """A value as the client sent it (JSON), cut to MAX_SHOWN_CHARS."""
    return _cut(json.dumps(value))


def named(name: Any) -> str:
    """A command, parameter or fault name the client sent, as `'name'` (other values as JSON)."""
    return _cut(repr(name)) if isinstance(name, str) else shown(name)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CHARS else f"{text[:MAX_SHOWN_CHARS]}... ({len(text)} characters)"


def parse_request(line: bytes) -> dict[str, Any]:
    """The JSON object of one request line."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ControlError("a request must be UTF-8 text") from None
    try:
        request = json.loads(text)
    except RecursionError:
        raise ControlError("a request is one JSON object per line: nested too deeply") from None
    except ValueError as exc:  # not JSON, or a number of more digits than Python converts
        raise ControlError(f"a request is one JSON object per line: {exc}") from None
    if not isinstance(request, dict):
        raise ControlError(f"a request is one JSON object per line, got {_kind(request)}")
    return request


def _kind(value: Any) -> str:
    kinds = {list: "a list", str: "text", bool: "true or false", type(None): "null"}
    return kinds.get(type(value), "a number")


class Parameters:
    """The parameters of one command (or of one fault), read with their types checked."""

    def __init__(self, values: Mapping[str, Any], owner: str) -> None:
        self.values = values
        self.owner = owner  # "discharge", "fault open_cell": how errors name what was asked

    def allow(self, names: Collection[str], what: str = "parameter") -> None:
        """Refuse any parameter not in `names`: a misspelt one is never silently ignored."""
        for key in self.values:
            if key not in names:
                takes = ", ".join(names) or "nothing"
                raise ControlError(f"{self.owner}: unknown {what} {named(key)}; it takes {takes}")

    def _get(self, key: str) -> Any:
        if key not in self.values:
            raise ControlError(f"{self.owner} needs {key!r}")
        return self.values[key]

    def _wrong(self, key: str, expected: str) -> ControlError:
        return ControlError(f"{self.owner}: {key} must be {expected}, got {shown(self.values[key])}")

    def text(self, key: str) -> str:
        """Text; a whole number is taken as its digits (`btms sim-fault string=7` sends 7)."""
        value = self._get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self._wrong(key, "text")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.values.get(key) is None else self.text(key)

    def whole(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "a whole number")
        return value

    def number(self, key: str, *, more_than: float | None = None) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._wrong(key, "a number")
        if not math.isfinite(value):
            raise self._wrong(key, "a finite number")
        if more_than is not None and not value > more_than:
            raise self._wrong(key, f"more than {more_than:g}")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def mapping(self, key: str, owner: str) -> Parameters:
        """A nested object (a fault's fields, named `owner` in errors); absent or null is empty."""
        value = self.values.get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self._wrong(key, "a mapping")
        return Parameters(value, owner)


def build_fault(kind: type, params: Parameters) -> Any:
    """A sim.faults dataclass from its fields, each checked against the field's declared type."""
    fields = dataclasses.fields(kind)
    params.allow([f.name for f in fields], what="field")
    readers = {"int": params.whole, "float": params.number, "str": params.text}
    values = {}
    for field in fields:
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        if field.name in params.values or not has_default:
            values[field.name] = readers[str(field.type)](field.name)
    try:
        return kind(**values)
    except ValueError as exc:  # the fault's own check (cell numbers start at 1 ...)
        raise ControlError(f"{params.owner}: {exc}") from None
