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
