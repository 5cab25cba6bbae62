"""The aggregator's account page over HTTP: a user changes their own password with the gateway's
page (web/pages/account.py): the present password, the new one twice, its rules, the CSRF token,
the other sessions ended, the log-in throttle counting wrong present passwords."""

from __future__ import annotations

import asyncio

from tests.aggregator_ui_support import (
    PASSWORD,
    add_user,
    csrf_of,
    logged_in,
    one_gateway_site,
    open_app,
)

NEW = "Another-pw-22"


def test_a_user_changes_their_own_password_and_their_other_sessions_end(tmp_path) -> None:
    add_user(tmp_path, "olga", "operator")

    async def main():
        app, _ = await open_app(one_gateway_site(), tmp_path, None)
        async with app.test_app() as test_app:
            me, elsewhere = test_app.test_client(), test_app.test_client()
            for client in (me, elsewhere):
                assert (await logged_in(client)).status_code == 303
            site = await (await me.get("/site/realtime")).get_data(as_text=True)
            assert '<a class="user" href="/account"' in site  # the user's name leads to the page
            page = await me.get("/account")
            assert page.status_code == 200
            html = await page.get_data(as_text=True)
            assert "Your account: olga" in html and 'action="/account/password"' in html
            assert 'href="/gateways/gw1/realtime"' in html  # in the aggregator's frame, its tree
            csrf = csrf_of(html)

            def form(current: str, new: str, again: str, token: str | None = csrf) -> dict:
                fields = {"current": current, "new": new, "again": again}
                return fields | ({"csrf_token": token} if token else {})

            forged = await me.post("/account/password", form=form(PASSWORD, NEW, NEW, token=None))
            assert forged.status_code == 403
            wrong = await me.post("/account/password", form=form("not-it", NEW, NEW))
            assert wrong.status_code == 400
            assert "The present password is not right." in await wrong.get_data(as_text=True)
            differ = await me.post("/account/password", form=form(PASSWORD, NEW, NEW + "x"))
            assert "The two new passwords differ." in await differ.get_data(as_text=True)
            short = await me.post("/account/password", form=form(PASSWORD, "short", "short"))
            assert short.status_code == 400 and "New password:" in await short.get_data(as_text=True)
            assert (await elsewhere.get("/site/realtime")).status_code == 200  # nothing changed yet

            done = await me.post("/account/password", form=form(PASSWORD, NEW, NEW))
            assert done.status_code == 303 and done.headers["Location"] == "/account?saved=1"
            saved = await (await me.get("/account?saved=1")).get_data(as_text=True)
            assert "Your password is changed" in saved
            assert (await elsewhere.get("/site/realtime")).status_code == 303  # its session ended
            assert (await logged_in(elsewhere)).status_code == 401  # the old password is gone
            assert (await logged_in(elsewhere, password=NEW)).status_code == 303

    asyncio.run(main())


def test_wrong_present_passwords_are_throttled_like_failed_log_ins(tmp_path) -> None:
    add_user(tmp_path, "olga", "operator")

    async def main():
        app, _ = await open_app(one_gateway_site(), tmp_path, None)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            await logged_in(client)
            csrf = csrf_of(await (await client.get("/account")).get_data(as_text=True))
            guess = {"current": "guess", "new": NEW, "again": NEW, "csrf_token": csrf}
            codes = [(await client.post("/account/password", form=guess)).status_code for _ in range(6)]
            assert codes[:5] == [400] * 5 and codes[5] == 429
            right = await client.post("/account/password", form=guess | {"current": PASSWORD})
            assert right.status_code == 429  # not even the right one while the user name is throttled

    asyncio.run(main())
