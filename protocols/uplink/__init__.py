"""Up, to the aggregator: the Sparkplug B topic namespace, payload codec and naming of the uplink.

The MQTT client is paho-mqtt and the payload is the Sparkplug B protobuf schema compiled with
protobuf (sparkplug_b.proto); this package only maps the gateway's state onto them. No actors:
actors/site/uplink.py hosts the client. docs/uplink.md describes the scheme.
"""
