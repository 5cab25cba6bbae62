"""Reading `services.uplink`: the MQTT Sparkplug B link to the aggregator (docs/uplink.md)."""

from __future__ import annotations

from battery.site import UplinkConfig
from topology.problems import quoted
from topology.rules import ID_RULES, UPLINK_DEADBANDS, _host_port
from topology.schema import Section

MAX_OUTBOX_MB = 1024 * 1024.0  # a terabyte: anything bigger is a typo, not a buffer


class UplinkReader:
    """The `services.uplink` section of `_TopologyReader` (topology/loader.py)."""

    def _uplink(self, s: Section) -> UplinkConfig | None:
        broker = s.text("broker")
        if broker is not None and _host_port(broker) is None:
            s.problem("broker", f"{quoted(broker)} is not HOST:PORT (e.g. mqtt.example.net:8883)")
            broker = None
        uplink = UplinkConfig(
            broker=broker,  # type: ignore[arg-type]
            group_id=s.text("group_id", **ID_RULES),  # type: ignore[arg-type]
            edge_node_id=s.text("edge_node_id", None, **ID_RULES),
            primary_host_id=s.text("primary_host_id", None, **ID_RULES),
            tls_ca=s.text("tls_ca", None),
            tls_cert=s.text("tls_cert", None),
            tls_key=s.text("tls_key", None),
            username=s.text("username", None),
            password=s.text("password", None),
            data_period_s=s.number("data_period_s", 10.0, ge=0.1, le=3600.0, unit="s"),  # type: ignore[arg-type]
            deadbands=self._deadbands(s),
            outbox_max_mb=s.number("outbox_max_mb", 64.0, ge=1.0, le=MAX_OUTBOX_MB, unit="MB"),  # type: ignore[arg-type]
            keepalive_s=s.integer("keepalive_s", 30, lo=5, hi=3600),  # type: ignore[arg-type]
        )
        if s.has("tls_cert") != s.has("tls_key"):
            given, missing = ("tls_cert", "tls_key") if s.has("tls_cert") else ("tls_key", "tls_cert")
            s.problem(given, f"a client certificate needs both tls_cert and tls_key; {missing} is missing")
        elif s.has("tls_cert") and not s.has("tls_ca"):
            s.problem("tls_cert", "a client certificate is sent over TLS only: set tls_ca, the broker's CA")
        if s.has("password") and not s.has("username"):
            s.problem("password", "a password without a username is never sent; set username")
        return uplink

    @staticmethod
    def _deadbands(s: Section) -> tuple[tuple[str, float], ...]:
        bands = dict(UPLINK_DEADBANDS)
        for name, value, line in s.number_mapping("deadbands"):
            if name not in UPLINK_DEADBANDS:
                s.log.add(
                    line,
                    f"{s.path}.deadbands: {quoted(name)} is not a cell quantity; one of {', '.join(UPLINK_DEADBANDS)}",
                )
            elif value < 0:
                s.log.add(line, f"{s.path}.deadbands.{name}: {value:g} is negative; 0 sends every change")
            else:
                bands[name] = value
        return tuple(sorted(bands.items()))
