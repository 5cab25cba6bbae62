"""The subscriber's hand-over to a proxy (aggregator/delivery.py), without I/O: what a dead
proxy held goes to the next one in order, a message that kills its proxy every time is skipped
after MAX_DEATHS deaths with it alone in hand, and a batch the proxy fails on is split."""

from __future__ import annotations

from aggregator.delivery import MAX_DEATHS, Delivery
from aggregator.messages import Received


def msg(token: int) -> Received:
    return Received(f"spBv1.0/btms/DDATA/gw1/d{token}", b"", token, 0.0)


def tokens(batches) -> list[list[int]]:
    return [[m.mid for m in batch] for batch in batches]


def test_a_dead_proxys_messages_go_again_at_once_in_arrival_order() -> None:
    d = Delivery()
    assert tokens(d.give([msg(1), msg(2)]).batches) == [[1, 2]]
    assert tokens(d.give([msg(3)]).batches) == [[3]]
    assert d.stored([1]).batches == []  # the dead proxy had handed message 1 on
    step = d.proxy_died()
    assert tokens(step.batches) == [[2, 3]] and step.skipped == []
    assert tokens(d.give([msg(4)]).batches) == [[4]]
    assert d.stored([2, 3]).batches == [] and d.stored([2]).batches == []  # a second report changes nothing
    assert list(d.given) == [4] and d.suspects == set()


def test_a_second_death_with_suspects_in_hand_gives_them_one_at_a_time_and_new_ones_wait() -> None:
    d = Delivery()
    d.give([msg(1), msg(2), msg(3)])
    d.proxy_died()
    assert tokens(d.proxy_died().batches) == [[1]]
    assert d.give([msg(4), msg(5)]).batches == []  # behind the suspects
    assert tokens(d.stored([1]).batches) == [[2]]
    assert tokens(d.stored([2]).batches) == [[3]]
    assert tokens(d.stored([3]).batches) == [[4, 5]]  # no suspect left: the rest at once
    assert tokens(d.give([msg(6)]).batches) == [[6]]
    assert list(d.given) == [4, 5, 6] and d.deaths == {}


def test_a_message_that_kills_every_proxy_is_skipped_after_max_deaths_alone_in_hand() -> None:
    d = Delivery()
    d.give([msg(1), msg(2), msg(3)])
    d.give([msg(4)])
    d.proxy_died()  # all four go again at once
    assert tokens(d.proxy_died().batches) == [[1]]  # died again holding them: one at a time
    assert tokens(d.stored([1]).batches) == [[2]]
    for _ in range(MAX_DEATHS - 1):
        step = d.proxy_died()
        assert tokens(step.batches) == [[2]] and step.skipped == []
    step = d.proxy_died()
    assert [m.mid for m, _ in step.skipped] == [2]
    assert tokens(step.batches) == [[3]]
    assert tokens(d.stored([3]).batches) == [[4]]
    assert tokens(d.stored([4]).batches) == [] and not d.one_at_a_time


def test_deaths_count_only_with_one_suspect_alone_in_hand_and_a_stored_message_is_forgiven() -> None:
    d = Delivery()
    d.give([msg(1)])
    d.proxy_died()  # not yet a suspect when it died: no fault
    assert d.deaths == {}
    for _ in range(MAX_DEATHS - 1):
        assert d.proxy_died().skipped == []
    assert d.deaths == {1: MAX_DEATHS - 1}
    d.stored([1])  # it went through after all (the deaths came from outside)
    assert d.deaths == {} and d.suspects == set()
    d.give([msg(2)])
    assert tokens(d.proxy_died().batches) == [[2]] and d.deaths == {}


def test_a_batch_the_proxy_fails_on_goes_again_one_by_one_and_a_lone_failure_is_skipped() -> None:
    d = Delivery()
    d.give([msg(1), msg(2), msg(3)])
    step = d.poisoned([msg(1), msg(2), msg(3)])
    assert tokens(step.batches) == [[1], [2], [3]] and step.skipped == []
    step = d.poisoned([msg(2)])
    assert [m.mid for m, _ in step.skipped] == [2] and step.batches == []
    assert list(d.given) == [1, 3]


def test_qos_0_messages_are_not_kept() -> None:
    d = Delivery()
    d.give([msg(0), msg(1)])
    assert list(d.given) == [1]
    d.stored([1])
    assert d.given == {} and d.proxy_died().batches == []
