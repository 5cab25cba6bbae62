"""battery/fast_init.py: the cheaper __init__ builds exactly what the dataclass's own would."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, dataclass, field, replace

import pytest

from battery.analytics import CellEstimate, SocState
from battery.fast_init import dict_init
from battery.status import StringStatus


@dataclass(frozen=True)
class Plain:
    name: str
    count: int = 3
    label: str | None = None


@dict_init
@dataclass(frozen=True)
class Fast:
    name: str
    count: int = 3
    label: str | None = None


def test_same_values_defaults_and_errors_as_the_generated_init():
    for args, kwargs in [(("a",), {}), (("a", 5), {}), (("a",), {"label": "x"}), ((), {"name": "b", "count": 0})]:
        fast, plain = Fast(*args, **kwargs), Plain(*args, **kwargs)
        assert (fast.name, fast.count, fast.label) == (plain.name, plain.count, plain.label)
    with pytest.raises(TypeError):
        Fast()  # the required field is still required
    with pytest.raises(TypeError):
        Fast("a", 1, None, "one too many")


def test_still_frozen_comparable_picklable_and_replaceable():
    value = Fast("a", 2)
    with pytest.raises(FrozenInstanceError):
        value.count = 4  # type: ignore[misc]
    assert value == Fast("a", 2) and hash(value) == hash(Fast("a", 2)) and value != Fast("a", 3)
    assert pickle.loads(pickle.dumps(value)) == value
    assert replace(value, count=7) == Fast("a", 7)
    assert repr(value) == "Fast(name='a', count=2, label=None)"


def test_classes_it_does_not_support_are_refused_at_import():
    @dataclass
    class Mutable:
        x: int

    @dataclass(frozen=True)
    class Factory:
        x: list = field(default_factory=list)

    @dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            pass

    for cls, reason in ((Mutable, "frozen"), (Factory, "plain fields"), (Checked, "__post_init__")):
        with pytest.raises(TypeError, match=reason):
            dict_init(cls)


def test_the_hot_classes_use_it_and_keep_their_defaults():
    assert SocState() == SocState(100.0, 0.0, 0.0, None, 0.0, False)
    assert CellEstimate().soc == SocState() and CellEstimate().last_at is None
    for cls in (SocState, CellEstimate, StringStatus):
        assert cls.__init__.__code__.co_names == ("__dict__",)  # stores into the dict, no __setattr__ per field
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
