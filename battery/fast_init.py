"""A cheaper __init__ for the frozen dataclasses a cell builds every scan.

A frozen dataclass's generated __init__ sets each field through object.__setattr__ (its own
__setattr__ refuses), which costs about three times as much as storing into the instance
dict. Each of a string's 120 cells builds its estimate (and often its SOC state) anew every
scan, so the difference is a measurable share of a string master's CPU (docs/architecture.md).

`dict_init` replaces the generated __init__ by one with the same signature and defaults that
stores into __dict__ directly. The class stays frozen: assignment after construction still
raises FrozenInstanceError; eq, hash, repr, pickling and dataclasses.replace are unchanged.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass


def dict_init(cls: type) -> type:
    """Decorate a frozen dataclass (put it above @dataclass). Only plain fields with plain
    defaults are supported: a default_factory, an InitVar, a keyword-only or init=False field,
    a __post_init__ or __slots__ raise TypeError here, at import."""
    if not is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: dict_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: dict_init supports neither __post_init__ nor __slots__")
    namespace: dict[str, object] = {}
    parameters, stores = [], []
    for field in fields(cls):
        if field.default_factory is not MISSING or not field.init or field.kw_only:
            raise TypeError(f"{cls.__name__}.{field.name}: dict_init supports plain fields only")
        if field.default is MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
        stores.append(f"    d[{field.name!r}] = {field.name}")
    source = f"def __init__(self, {', '.join(parameters)}):\n    d = self.__dict__\n" + "\n".join(stores) + "\n"
    exec(source, namespace)  # noqa: S102 - the source is built from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls
