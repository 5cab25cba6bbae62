"""The API's limits as rules: invalid tokens per address, heavy queries per client, ids and times."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from web.auth_throttle import FailureWindow
from web.query_slots import QuerySlots, TooManyQueries
from web.request_args import BadRequest, RowIdConverter, timestamp


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ten_invalid_tokens_a_minute_then_429_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    window = FailureWindow(max_failures=10, window_s=60, clock=clock)
    for _ in range(9):
        assert window.retry_after("10.0.0.9") == 0
        assert window.failed("10.0.0.9") is False
        clock.now += 1
    assert window.failed("10.0.0.9") is True  # the tenth: logged once
    assert window.retry_after("10.0.0.9") == 51  # the first failure (t=1000) leaves at t=1060
    assert window.retry_after("10.0.0.8") == 0  # another address is not affected
    clock.now = 1060.0
    assert window.retry_after("10.0.0.9") == 0  # one failure left the window: one more try
    window.failed("10.0.0.9")
    assert window.retry_after("10.0.0.9") == 1
    clock.now = 1200.0
    assert window.retry_after("10.0.0.9") == 0 and len(window) == 0  # an address with no recent failure is forgotten


def test_the_failure_window_holds_a_bounded_number_of_addresses() -> None:
    clock = Clock()
    window = FailureWindow(max_failures=3, window_s=60, max_addresses=100, clock=clock)
    for n in range(10_000):
        window.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(window) == 100
    for _ in range(3):
        window.failed("192.0.2.1")
    assert window.retry_after("192.0.2.1") == 60  # the newest attacker is still remembered
    assert window.retry_after("10.0.0.0") == 0  # the longest quiet one was forgotten first
    with pytest.raises(ValueError, match="max_failures 0"):
        FailureWindow(max_failures=0)


def test_query_slots_cap_each_client_and_come_back() -> None:
    slots = QuerySlots(per_client=2)
    first, second = slots.claim("10.0.0.1"), slots.claim("10.0.0.1")
    with pytest.raises(TooManyQueries, match="10.0.0.1 already runs 2 .*at most 2 at once"):
        slots.claim("10.0.0.1")
    with slots.claim("10.0.0.2"):  # another client is not affected
        assert slots.running("10.0.0.2") == 1
    assert slots.running("10.0.0.2") == 0
    first.release()
    first.release()  # idempotent: a second release does not free another query's slot
    assert slots.running("10.0.0.1") == 1
    slots.claim("10.0.0.1").release()
    second.release()
    assert slots.running("10.0.0.1") == 0 and not slots._running  # nothing kept for idle clients


def test_row_ids_beyond_64_bits_do_not_match_a_route() -> None:
    urls = Map([Rule("/alarms/<rowid:n>", endpoint="alarm")], converters={"rowid": RowIdConverter}).bind("gw")
    assert urls.match("/alarms/42") == ("alarm", {"n": 42})
    assert urls.match("/alarms/9223372036854775807") == ("alarm", {"n": 2**63 - 1})
    for path in (
        "/alarms/9223372036854775808",
        "/alarms/99999999999999999999999",
        "/alarms/" + "9" * 5000,
        "/alarms/-1",
        "/alarms/1e3",
    ):
        with pytest.raises(NotFound):
            urls.match(path)


def test_times_outside_the_calendar_are_a_clear_400() -> None:
    assert timestamp({"from": "0001-01-01T00:00Z"}, "from") == -62135596800.0
    with pytest.raises(BadRequest, match="'from': '0001-01-01T00:00\\+01:00' is outside the years 1..9999"):
        timestamp({"from": "0001-01-01T00:00+01:00"}, "from")
    with pytest.raises(BadRequest, match="'to'.* is outside"):
        timestamp({"to": "9999-12-31T23:00-05:00"}, "to")
