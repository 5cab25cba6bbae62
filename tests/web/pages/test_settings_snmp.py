"""Settings → SNMP: a form for administrators only, with the CSRF token, the topology loader's
words next to the form that was refused, and no community or key ever in the page."""

from __future__ import annotations

from dataclasses import replace

import pytest

from actors.messages.down import SettingsChanged
from battery.site import SnmpConfig, SnmpV3UserConfig
from storage.snmp_settings import current_snmp
from tests.support import small_topology
from tests.ui_support import app_csrf, app_log_in, app_with_users, run_app
from web.tree_bridge import TreeBridge

SNMP = SnmpConfig(
    enabled=True,
    read_community="r3ad-Commun1ty",
    trap_receivers=("192.0.2.50:162",),
    trap_community="tr4p-Commun1ty",
    v3_users=(SnmpV3UserConfig("nms", "auth-Key-12345", "priv-Key-67890"),),
)
SECRETS = ("r3ad-Commun1ty", "tr4p-Commun1ty", "auth-Key-12345", "priv-Key-67890", "new-Commun1ty", "ops-Auth-Key-1")


@pytest.fixture
def site(tmp_path):
    topology = small_topology(tmp_path)
    app, ui = app_with_users(tmp_path, replace(topology, services=replace(topology.services, snmp=SNMP)))
    sent: list = []
    ui.bridge = TreeBridge(sent.append)
    return app, ui, sent


def post_as(app, who, path, form, csrf=True):
    async def scenario(client):
        await app_log_in(client, who)
        sent = dict(form)
        if csrf:
            sent["csrf_token"] = await app_csrf(client)
        answer = await client.post(path, form=sent)
        page = await (await client.get("/site/settings/snmp")).get_data(as_text=True)
        return answer.status_code, await answer.get_data(as_text=True), page

    return run_app(app, scenario)


def test_the_page_shows_the_settings_and_their_source_but_no_secret(site):
    app, _, _ = site
    status, _, page = post_as(app, "root", "/site/settings/snmp/receiver", {"receiver": "198.51.100.9:1162"})
    assert status == 303
    for shown in ("192.0.2.50:162", "198.51.100.9:1162", "nms", "set here", "topology.yaml", "Reset to topology.yaml"):
        assert shown in page
    for secret in SECRETS:
        assert secret not in page


def test_a_community_and_a_v3_user_are_saved_and_the_gateway_told(site):
    app, ui, sent = site
    status, _, page = post_as(app, "root", "/site/settings/snmp/communities", {"read_community": "new-Commun1ty"})
    assert status == 303 and "SNMPv2c settings saved." not in page  # the notice is on the redirect's page
    user = {"name": "ops", "auth_protocol": "SHA-256", "auth_key": "ops-Auth-Key-1", "priv_protocol": "AES-256"}
    status, _, page = post_as(app, "root", "/site/settings/snmp/user", user | {"priv_key": "ops-Priv-Key-1"})
    assert status == 303
    snmp = current_snmp(ui.storage_dir, SNMP)[1]
    assert snmp.read_community == "new-Commun1ty" and snmp.trap_community == "tr4p-Commun1ty"  # empty field: kept
    assert [(u.name, u.auth_protocol, u.priv_protocol) for u in snmp.v3_users][-1] == ("ops", "SHA-256", "AES-256")
    assert sent == [SettingsChanged(), SettingsChanged()]
    assert "ops-Auth-Key-1" not in page and "ops-Priv-Key-1" not in page


@pytest.mark.parametrize(
    ("form_name", "form", "message"),
    [
        ("communities", {"read_community": "public"}, "read_community: &#39;public&#39; is a well-known default"),
        ("user", {"name": "ops", "auth_key": "short", "priv_key": "ops-Priv-Key-1"}, "auth_key: must be at least 8"),
        ("receiver", {"receiver": "nms.example"}, "trap_receivers: &#39;nms.example&#39; is not HOST:PORT"),
        ("user-remove", {"name": "nobody"}, "no SNMPv3 user &#39;nobody&#39;"),
    ],
)
def test_a_refused_value_is_shown_next_to_its_form_and_nothing_is_stored(site, form_name, form, message):
    app, ui, sent = site
    form = {"auth_protocol": "SHA", "priv_protocol": "AES"} | form if form_name == "user" else form
    status, body, _ = post_as(app, "root", f"/site/settings/snmp/{form_name}", form)
    assert status == 400 and message in body and 'role="alert"' in body
    assert "ops-Priv-Key-1" not in body
    assert current_snmp(ui.storage_dir, SNMP) == (0, SNMP) and sent == []


def test_an_operator_cannot_see_or_change_snmp_and_a_post_without_csrf_is_refused(site):
    app, ui, sent = site
    status, _, page = post_as(app, "olga", "/site/settings/snmp/communities", {"read_community": "olga-Commun1ty"})
    assert status == 403 and "for administrators" in page
    status, _, _ = post_as(app, "root", "/site/settings/snmp/reset", {}, csrf=False)
    assert status == 403
    assert current_snmp(ui.storage_dir, SNMP) == (0, SNMP) and sent == []
