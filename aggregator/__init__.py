"""The aggregator (BM-AG): many gateways as one site, over MQTT Sparkplug B, stored in PostgreSQL.

`btms aggregate --config FILE` starts an actor system that is the Sparkplug primary host: an
MQTT subscriber, one GatewayProxy per edge node (the gateway's state, sequence check, rebirth
request and off-line alarm), a store actor writing PostgreSQL, and the web server (the JSON API
one level up and /metrics). docs/aggregator.md describes it. Nothing in the gateway imports it.
"""
