"""The aggregator's Settings tab over HTTP: an administrator lists, adds, changes and removes the
aggregator's users with the gateway's Users section (its rules, CSRF and last-admin guard), and
its project name, time zone and logo with the gateway's Project section; any other role is refused."""

from __future__ import annotations

import asyncio
import io

from werkzeug.datastructures import FileStorage

from tests.aggregator_ui_support import (
    PASSWORD,
    add_user,
    csrf_of,
    logged_in,
    one_gateway_site,
    open_app,
)
from web.users.book import UserBook

NEW_PW = "Initial-pw-33"


def test_an_admin_adds_changes_and_removes_a_user(tmp_path) -> None:
    add_user(tmp_path, "root", "admin")

    async def main():
        app, _ = await open_app(one_gateway_site(), tmp_path, None)
        async with app.test_app() as test_app:
            admin, newcomer = test_app.test_client(), test_app.test_client()
            await logged_in(admin, "root")
            for path in ("/site/settings", "/gateways/gw1/settings", "/gateways/gw1/strings/UPS-A/A1/settings"):
                answer = await admin.get(path)
                assert answer.status_code == 303 and answer.headers["Location"] == "/site/settings/users", path
            page = await admin.get("/site/settings/users")
            html = await page.get_data(as_text=True)
            assert page.status_code == 200 and "Add a user" in html and 'href="/site/settings/users/root"' in html
            assert "<code>btms user passwd NAME --aggregator FILE</code>" in html  # the aggregator's own command
            assert 'aria-current="page">Settings</a>' in html and "E-mail and SMS" not in html  # no gateway sections
            assert 'href="/site/settings/project"' in html
            csrf = csrf_of(html)
            new = {"name": "maja", "role": "operator", "password": NEW_PW, "password_again": NEW_PW}
            assert (await admin.post("/site/settings/users", form=new)).status_code == 403  # no CSRF token
            differ = await admin.post("/site/settings/users", form=new | {"password_again": "x", "csrf_token": csrf})
            assert differ.status_code == 400 and "The two passwords differ." in await differ.get_data(as_text=True)
            added = await admin.post("/site/settings/users", form=new | {"csrf_token": csrf})
            assert added.status_code == 303 and added.headers["Location"] == "/site/settings/users?saved=add"
            assert "User added." in await (await admin.get("/site/settings/users?saved=add")).get_data(as_text=True)
            assert (await logged_in(newcomer, "maja", NEW_PW)).status_code == 303

            changed = await admin.post("/site/settings/users/maja", form={"role": "viewer", "csrf_token": csrf})
            assert changed.status_code == 303
            assert UserBook(tmp_path).get("maja").role == "viewer"
            last = await admin.post("/site/settings/users/root", form={"role": "viewer", "csrf_token": csrf})
            assert last.status_code == 400  # the last administrator stays one
            assert UserBook(tmp_path).get("root").role == "admin"
            removed = await admin.post("/site/settings/users/maja/remove", form={"csrf_token": csrf})
            assert removed.status_code == 303
            assert UserBook(tmp_path).get("maja") is None
            assert (await newcomer.get("/site/realtime")).status_code == 303  # their session ended with them
            assert (await admin.post("/site/settings/users/maja/remove", form={"csrf_token": csrf})).status_code == 404

    asyncio.run(main())


def test_the_settings_are_for_administrators_only(tmp_path) -> None:
    add_user(tmp_path, "olga", "operator")

    async def main():
        app, _ = await open_app(one_gateway_site(), tmp_path, None)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            await logged_in(client)
            refused = await client.get("/site/settings/users")
            html = await refused.get_data(as_text=True)
            assert refused.status_code == 403 and "for administrators: olga is operator" in html
            csrf = csrf_of(html)
            new = {"name": "eve", "role": "admin", "password": PASSWORD, "password_again": PASSWORD}
            posted = await client.post("/site/settings/users", form=new | {"csrf_token": csrf})
            assert posted.status_code == 403
            assert UserBook(tmp_path).get("eve") is None
            assert (await client.get("/site/settings/project")).status_code == 403
            renamed = await client.post("/site/settings/project", form={"project_name": "Mine", "csrf_token": csrf})
            assert renamed.status_code == 403

    asyncio.run(main())


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def test_an_admin_names_the_project_sets_its_time_zone_and_logo(tmp_path) -> None:
    add_user(tmp_path, "root", "admin")

    async def main():
        app, _ = await open_app(one_gateway_site(), tmp_path, None)
        async with app.test_app() as test_app:
            admin = test_app.test_client()
            await logged_in(admin, "root")
            page = await admin.get("/site/settings/project")
            html = await page.get_data(as_text=True)
            assert page.status_code == 200 and "BTMS aggregator" in html and 'value="UTC" selected' in html
            csrf = csrf_of(html)
            form = {"project_name": "Campus North", "time_zone": "Europe/Ljubljana"}
            assert (await admin.post("/site/settings/project", form=form)).status_code == 403  # no CSRF token
            wrong = await admin.post(
                "/site/settings/project", form=form | {"time_zone": "Mars/Olympus", "csrf_token": csrf}
            )
            assert wrong.status_code == 400 and "is not an IANA time zone" in await wrong.get_data(as_text=True)
            saved = await admin.post("/site/settings/project", form=form | {"csrf_token": csrf})
            assert saved.status_code == 303 and saved.headers["Location"] == "/site/settings/project?saved=project"
            shown = await (await admin.get("/site/realtime")).get_data(as_text=True)
            assert "Campus North" in shown and "Europe/Ljubljana" in shown and 'src="/site/logo"' not in shown

            files = {"logo": FileStorage(io.BytesIO(PNG), filename="logo.png", content_type="image/png")}
            uploaded = await admin.post("/site/settings/logo", form={"csrf_token": csrf}, files=files)
            assert uploaded.status_code == 303
            logo = await admin.get("/site/logo")
            assert (
                logo.status_code == 200 and await logo.get_data() == PNG and logo.headers["Content-Type"] == "image/png"
            )
            assert 'src="/site/logo"' in await (await admin.get("/site/realtime")).get_data(as_text=True)

    asyncio.run(main())
