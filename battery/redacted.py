"""Secrets never appear in a repr or str of the dataclass that holds them.

Settings objects end up in log lines and error messages, and Thespian logs the repr of a message
whose handler fails. A secret that is set shows as '***' (so a log still tells "a password is
configured" from "none is"); an empty one shows as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

MASK = "***"
C = TypeVar("C", bound=type)


def secrets_masked(*secret_fields: str) -> Callable[[C], C]:
    """Class decorator, applied above @dataclass: replaces the generated __repr__."""

    def decorate(cls: C) -> C:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(secret_fields) - names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)} to mask")

        def __repr__(self) -> str:  # noqa: N807 - the method being replaced
            shown = []
            for f in dataclasses.fields(self):
                if not f.repr:
                    continue
                value = getattr(self, f.name)
                shown.append(f"{f.name}={MASK!r}" if f.name in secret_fields and value else f"{f.name}={value!r}")
            return f"{type(self).__qualname__}({', '.join(shown)})"

        cls.__repr__ = __repr__  # type: ignore[method-assign]
        return cls

    return decorate
