from __future__ import annotations

import pytest

from protocols.uplink.topics import MessageType, Topic, id_problem, node_filter, state_topic


def test_a_device_topic_is_the_sparkplug_namespace_and_parses_back():
    topic = Topic("site-1", MessageType.DDATA, "gw1", "UPS-A:A1")
    assert str(topic) == "spBv1.0/site-1/DDATA/gw1/UPS-A:A1"
    assert Topic.parse(str(topic)) == topic


def test_a_node_topic_has_no_device():
    assert str(Topic("g", MessageType.NBIRTH, "gw1")) == "spBv1.0/g/NBIRTH/gw1"
    with pytest.raises(ValueError, match="has no device id"):
        Topic("g", MessageType.DDATA, "gw1")
    with pytest.raises(ValueError, match="has a device id"):
        Topic("g", MessageType.NDATA, "gw1", "UPS-A")


@pytest.mark.parametrize("bad", ["a/b", "a+", "#", ""])
def test_ids_that_mqtt_reserves_are_refused_by_name(bad):
    assert id_problem(bad)
    with pytest.raises(ValueError, match="group_id"):
        Topic(bad, MessageType.NBIRTH, "gw1")


@pytest.mark.parametrize(
    "text", ["spBv1.0/g/NBIRTH", "spAv1.0/g/NBIRTH/n", "spBv1.0/g/NOPE/n", "spBv1.0/g/DDATA/n/d/extra"]
)
def test_what_is_not_a_sparkplug_topic_is_a_value_error(text):
    with pytest.raises(ValueError):
        Topic.parse(text)


def test_state_and_node_filters():
    assert state_topic("scada-1") == "spBv1.0/STATE/scada-1"
    assert node_filter("g", "gw1") == "spBv1.0/g/+/gw1/#"
    with pytest.raises(ValueError):
        state_topic("a/b")
