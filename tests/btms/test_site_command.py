"""`btms site` and `btms notify show|set`: the settings page's values on a headless install."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from storage.notification_store import NotificationStore
from storage.settings_db import settings_path
from tests.gateway_process import REPO, write_demo_topology
from web.ui.site_settings import SiteSettingsBook


def btms(topology, *args, stdin: str = ""):
    return subprocess.run(
        [sys.executable, "-m", "btms.cli", *args, "--topology", str(topology)],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_site_set_show_and_a_refused_time_zone(tmp_path):
    topology, data = write_demo_topology(tmp_path)
    storage = tmp_path / "var"
    assert btms(topology, "site", "set", "time_zone", "Europe/Ljubljana").returncode == 0
    assert btms(topology, "site", "set", "project_name", "Plant 7").returncode == 0
    refused = btms(topology, "site", "set", "time_zone", "Europe/Atlantis")
    assert refused.returncode == 1 and "'Europe/Atlantis' is not an IANA time zone" in refused.stderr
    shown = btms(topology, "site", "show").stdout
    assert "time_zone = Europe/Ljubljana" in shown and "project_name = Plant 7" in shown and "logo = none" in shown
    assert SiteSettingsBook(storage).read().time_zone == "Europe/Ljubljana"


def test_site_logo_takes_a_png_and_refuses_an_svg(tmp_path):
    topology, _ = write_demo_topology(tmp_path)
    png, svg = tmp_path / "logo.png", tmp_path / "logo.svg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    refused = btms(topology, "site", "logo", str(svg))
    assert refused.returncode == 1 and "SVG logos are refused" in refused.stderr
    assert btms(topology, "site", "logo", str(png)).returncode == 0
    assert (tmp_path / "var" / "site-logo.png").read_bytes() == png.read_bytes()
    assert "logo = site-logo.png" in btms(topology, "site", "show").stdout
    assert btms(topology, "site", "logo", "--delete").stdout.strip() == "logo removed"
    assert not (tmp_path / "var" / "site-logo.png").exists()


def test_notify_set_and_show_with_credentials_only_as_set(tmp_path):
    topology, _ = write_demo_topology(tmp_path)
    assert btms(topology, "notify", "set", "smtp.host", "mail.example.com").returncode == 0
    assert btms(topology, "notify", "set", "sms.method", "http").returncode == 0
    secret = btms(topology, "secret", "set", "smtp.password", stdin="pa55-Sm7p-Very-Secret\n")
    assert secret.returncode == 0, secret.stderr
    shown = btms(topology, "notify", "show").stdout
    assert "smtp.host = mail.example.com" in shown and "sms.method = http" in shown
    assert "smtp.password = set" in shown and "sms.http_token = not set" in shown
    assert "pa55-Sm7p-Very-Secret" not in shown

    async def stored():
        store = await NotificationStore.open(settings_path(tmp_path / "var"))
        try:
            return await store.load_settings()
        finally:
            await store.close()

    settings = asyncio.run(stored())
    assert settings.smtp.host == "mail.example.com" and settings.smtp.password == "pa55-Sm7p-Very-Secret"


def test_notify_set_refuses_a_bad_value_a_credential_and_an_unknown_key(tmp_path):
    topology, _ = write_demo_topology(tmp_path)
    for args, message in (
        (("smtp.port", "0"), "smtp.port = 0: must be 1..65535"),
        (("smtp.password", "x"), "is a credential: set it with 'btms secret set smtp.password'"),
        (("smtp.hots", "x"), "unknown notification setting 'smtp.hots'"),
    ):
        refused = btms(topology, "notify", "set", *args)
        assert refused.returncode == 1 and message in refused.stderr and "Traceback" not in refused.stderr
    assert "smtp.port = 587" in btms(topology, "notify", "show").stdout
