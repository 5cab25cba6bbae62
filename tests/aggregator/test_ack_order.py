"""The subscriber's acknowledgements: in arrival order, only once stored, never across connections."""

from __future__ import annotations

from aggregator.ack_order import AckOrder


def test_a_message_stored_early_waits_for_the_ones_that_arrived_before_it() -> None:
    acks = AckOrder()
    acks.connected()
    first, second, third = acks.arrived(7), acks.arrived(8), acks.arrived(9)
    assert acks.handled((third,)) == []
    assert acks.handled((second,)) == []
    assert acks.handled((first,)) == [7, 8, 9]


def test_qos_0_messages_need_no_acknowledgement() -> None:
    acks = AckOrder()
    acks.connected()
    assert acks.arrived(0) == 0
    token = acks.arrived(3)
    assert acks.handled((0, token)) == [3]


def test_a_late_store_of_a_lost_connections_message_acknowledges_nothing_on_the_new_one() -> None:
    acks = AckOrder()
    acks.connected()
    old = acks.arrived(5)
    acks.connected()  # the broker delivers message 5 again, on the new connection
    new = acks.arrived(5)
    assert acks.handled((old,)) == []
    assert acks.handled((new,)) == [5]


def test_a_message_reported_stored_twice_does_not_mark_a_later_one_with_its_id() -> None:
    acks = AckOrder()
    acks.connected()
    first = acks.arrived(5)
    assert acks.handled((first,)) == [5]
    again = acks.arrived(5)  # the broker reuses the id on the same connection
    after = acks.arrived(6)
    assert acks.handled((first,)) == []  # the late second report of the first message 5
    assert acks.handled((after,)) == []  # still waits for the second message 5, not yet stored
    assert acks.handled((again,)) == [5, 6]
