"""/metrics: OpenMetrics text that a real parser reads, named and scaled from the registry,
stale values left out, cells only on request, and the API's token required (a real `btms run`)."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request

import pytest
import yaml
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from actors.messages.up import UpsUpdate
from battery.alarms.records import AlarmNotice
from battery.quantities import quantity
from battery.site import WebConfig
from tests.factories import sample_string_status, sample_topology, sample_ups_status
from tests.gateway_process import GatewayProcess, wait_serving, write_demo_topology
from web.metrics import exposition
from web.site_view import SiteView

T0 = 1_700_000_000.0


def families(text: bytes | str) -> dict:
    text = text.decode() if isinstance(text, bytes) else text
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family, name: str | None = None) -> dict[tuple, float]:
    """{label values sorted by label name: value} of the family's samples named `name`."""
    name = name or family.name
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == name}


def site(cells_metrics: bool, now: float):
    t = sample_topology(upses=1, strings_per_ups=2, cells=3)
    t = dataclasses.replace(
        t, services=dataclasses.replace(t.services, web=WebConfig(port=0, metrics_cells=cells_metrics))
    )
    view = SiteView(t, wall_clock=lambda: now)
    fresh = sample_string_status(t, "s1", timestamp=T0)
    old = sample_string_status(t, "s2", timestamp=T0 - 600)  # ten minutes old: stale
    ups = dataclasses.replace(sample_ups_status(t, "ups1"), timestamp=T0)
    view.apply(UpsUpdate(ups=ups, strings=(fresh, old)))
    return view, fresh


def test_values_are_named_and_scaled_from_the_registry_and_stale_ones_left_out() -> None:
    view, s1 = site(cells_metrics=True, now=T0 + 2.5)
    found = families(exposition(view, cells=True))
    voltage = found["btms_string_voltage_volts"]
    assert voltage.unit == "volts" and voltage.type == "gauge"
    assert samples(voltage) == {
        (("gateway", "gw"), ("string", "s1"), ("ups", "ups1")): pytest.approx(round(s1.voltage_v, 2))
    }  # s2 is stale: no sample, not its old value
    assert samples(found["btms_string_fresh"]) == {
        (("gateway", "gw"), ("string", "s1"), ("ups", "ups1")): 1.0,
        (("gateway", "gw"), ("string", "s2"), ("ups", "ups1")): 0.0,
    }
    age = samples(found["btms_string_scan_age_seconds"])
    assert age[(("gateway", "gw"), ("string", "s1"), ("ups", "ups1"))] == pytest.approx(2.5)
    cell_v = samples(found["btms_cell_voltage_volts"])
    assert len(cell_v) == 3 and cell_v[(("cell", "1"), ("gateway", "gw"), ("string", "s1"), ("ups", "ups1"))] == (
        pytest.approx(s1.cell_voltage_mv[0] / 1000)
    )
    assert "btms_cell_resistance_ohms" in found
    assert found["btms_ups_current_amperes"].unit == "amperes"


def test_resistance_is_served_in_ohms() -> None:
    t = sample_topology(upses=1, strings_per_ups=1, cells=2)
    view = SiteView(t, wall_clock=lambda: T0 + 1)
    s = dataclasses.replace(sample_string_status(t, "s1", timestamp=T0), cell_resistance_uohm=(4_500, 12_000))
    view.apply(UpsUpdate(ups=dataclasses.replace(sample_ups_status(t, "ups1"), timestamp=T0), strings=(s,)))
    ohms = samples(families(exposition(view, cells=True))["btms_cell_resistance_ohms"])
    assert sorted(ohms.values()) == [pytest.approx(0.0045), pytest.approx(0.012)]
    assert quantity("cell.resistance").unit == "mΩ"


def test_cells_only_when_configured_and_alarms_counted() -> None:
    view, _ = site(cells_metrics=False, now=T0 + 1)
    for alarm_id, kind in ((1, "cell_voltage_high"), (2, "cell_voltage_high"), (3, "string_soc_low")):
        notice = AlarmNotice("raised", alarm_id, kind, kind, "ups1", "s1", 1, 15.0, 14.4, T0, None, None, None)
        view.site.apply_alarm(notice)
    view.site.apply_alarm(AlarmNotice("cleared", 3, "string_soc_low", "", "ups1", "s1", None, 1, 1, T0, T0, None, None))
    found = families(exposition(view, cells=False))
    assert not [name for name in found if name.startswith("btms_cell_")]
    assert samples(found["btms_alarms_active"]) == {
        (("gateway", "gw"), ("kind", "cell_voltage_high"), ("string", "s1"), ("ups", "ups1")): 2.0
    }
    assert samples(found["btms_gateway_alarms_active"]) == {(("gateway", "gw"),): 2.0}


def get(url: str, token: str | None) -> tuple[int, str, str]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.mark.integration
def test_a_running_gateway_serves_metrics_behind_its_token(tmp_path) -> None:
    path, data = write_demo_topology(tmp_path, cells=6, scan_period_s=0.5)
    data["services"]["web"]["metrics_cells"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    gateway = GatewayProcess.start(tmp_path, path, data)
    try:
        wait_serving(gateway, timeout=60)
        url = gateway.web_url + "/metrics"
        assert get(url, None)[0] == 401
        assert get(url, "not-a-token")[0] == 401
        status, content_type, text = get(url, gateway.token)
        assert status == 200 and content_type.startswith("application/openmetrics-text; version=1.0.0")
        found = families(text)
        strings = samples(found["btms_string_voltage_volts"])
        assert {dict(k)["string"] for k in strings} == {"A1", "A2", "B1", "B2"}
        assert all(20 <= v <= 800 for v in strings.values())
        assert len(samples(found["btms_cell_voltage_volts"])) == 4 * 6
        assert set(samples(found["btms_string_fresh"]).values()) == {1.0}
        assert max(samples(found["btms_string_scan_age_seconds"]).values()) < 5
    finally:
        gateway.stop()
