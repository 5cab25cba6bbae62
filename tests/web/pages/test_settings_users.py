"""Settings → Users and the account page, through the app: who may, CSRF, the messages, sessions."""

from __future__ import annotations

import pytest

from tests.ui_support import PASSWORD, app_csrf, app_log_in, app_with_users, run_app

NEW_USER = {
    "name": "ana",
    "full_name": "Ana Novak",
    "role": "operator",
    "email": "ana@example.com",
    "phone": "+386 41 123 456",
    "receive_email": "on",
    "password": "a long enough one",
    "password_again": "a long enough one",
}


@pytest.fixture
def app_ui(tmp_path):
    return app_with_users(tmp_path)


@pytest.mark.parametrize("who", ["olga", "vera"])
def test_only_an_administrator_sees_or_changes_users(app_ui, who):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, who)
        page = await client.get("/site/settings/users")
        form = NEW_USER | {"csrf_token": await app_csrf(client)}
        posted = await client.post("/site/settings/users", form=form)
        removed = await client.post("/site/settings/users/root/remove", form={"csrf_token": form["csrf_token"]})
        return page.status_code, await page.get_data(as_text=True), posted.status_code, removed.status_code

    page_status, body, posted, removed = run_app(app, scenario)
    assert (page_status, posted, removed) == (403, 403, 403)
    assert "for administrators" in body and "ana@example.com" not in body
    assert ui.users.get("ana") is None and ui.users.get("root") is not None


def test_an_administrator_adds_a_user_who_can_then_log_in(app_ui):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        forged = await client.post("/site/settings/users", form=NEW_USER)  # no CSRF token
        added = await client.post("/site/settings/users", form=NEW_USER | {"csrf_token": await app_csrf(client)})
        listing = await (await client.get(added.headers["Location"])).get_data(as_text=True)
        return forged.status_code, added, listing

    forged, added, listing = run_app(app, scenario)
    assert forged == 403
    assert added.status_code == 303 and added.headers["Location"] == "/site/settings/users?saved=add"
    assert "User added." in listing and "ana@example.com" in listing and "Ana Novak" in listing
    user = ui.users.verify("ana", "a long enough one")
    assert user is not None and user.role == "operator" and user.receive_email and not user.receive_sms


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-address"}, "is not an address like name@example.com"),
        ({"password_again": "something else"}, "The two passwords differ."),
        ({"password": "short", "password_again": "short"}, "at least"),
        ({"name": "root"}, "a user named &#39;root&#39; exists already"),
        ({"name": "../x"}, "1-32 letters"),
        ({"role": "superuser"}, "one of viewer, operator, admin"),
    ],
)
def test_a_refused_user_is_explained_next_to_the_form(app_ui, change, message):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        answer = await client.post(
            "/site/settings/users", form=NEW_USER | change | {"csrf_token": await app_csrf(client)}
        )
        return answer.status_code, await answer.get_data(as_text=True)

    status, body = run_app(app, scenario)
    assert status == 400 and message in body and 'role="alert"' in body
    assert "Traceback" not in body
    assert [u.name for u in ui.users.all()] == ["olga", "root", "vera"]


def test_the_last_administrator_is_neither_demoted_nor_removed(app_ui):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        token = await app_csrf(client)
        demoted = await client.post("/site/settings/users/root", form={"role": "viewer", "csrf_token": token})
        removed = await client.post("/site/settings/users/root/remove", form={"csrf_token": token})
        return [(r.status_code, await r.get_data(as_text=True)) for r in (demoted, removed)]

    for status, body in run_app(app, scenario):
        assert status == 400 and "is the last administrator: make another one first" in body
    assert ui.users.get("root").role == "admin"


def test_editing_a_user_changes_role_contacts_and_switches(app_ui):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        form = {"role": "admin", "full_name": "Olga K", "email": "olga@example.com", "phone": "+38640111222"}
        form |= {"receive_sms": "on", "csrf_token": await app_csrf(client)}
        return await client.post("/site/settings/users/olga", form=form)

    answer = run_app(app, scenario)
    assert answer.status_code == 303
    olga = ui.users.get("olga")
    assert (olga.role, olga.email, olga.phone, olga.receive_email, olga.receive_sms) == (
        "admin",
        "olga@example.com",
        "+38640111222",
        False,
        True,
    )


def test_removing_a_user_ends_their_sessions(app_ui):
    app, ui = app_ui

    async def scenario(client):
        olga = app.test_client()
        await app_log_in(olga, "olga")
        before = (await olga.get("/site/realtime")).status_code
        await app_log_in(client, "root")
        removed = await client.post("/site/settings/users/olga/remove", form={"csrf_token": await app_csrf(client)})
        after = await olga.get("/site/realtime")
        return before, removed.status_code, after.status_code, after.headers.get("Location", "")

    before, removed, after, where = run_app(app, scenario)
    assert (before, removed, after) == (200, 303, 303) and where.startswith("/login")
    assert ui.users.get("olga") is None


def test_a_viewer_changes_their_own_password_and_keeps_only_this_session(app_ui):
    app, ui = app_ui

    async def scenario(client):
        other = app.test_client()
        await app_log_in(other, "vera")
        await app_log_in(client, "vera")
        token = await app_csrf(client)
        wrong = await client.post(
            "/account/password",
            form={"current": "nope", "new": "brand new secret", "again": "brand new secret"} | {"csrf_token": token},
        )
        differ = await client.post(
            "/account/password",
            form={"current": PASSWORD, "new": "brand new secret", "again": "other"} | {"csrf_token": token},
        )
        changed = await client.post(
            "/account/password",
            form={"current": PASSWORD, "new": "brand new secret", "again": "brand new secret", "csrf_token": token},
        )
        mine = await client.get(changed.headers["Location"])
        theirs = await other.get("/account")
        return (
            (wrong.status_code, await wrong.get_data(as_text=True)),
            (differ.status_code, await differ.get_data(as_text=True)),
            changed.status_code,
            (mine.status_code, await mine.get_data(as_text=True)),
            theirs.status_code,
        )

    wrong, differ, changed, mine, theirs = run_app(app, scenario)
    assert wrong[0] == 400 and "The present password is not right." in wrong[1]
    assert differ[0] == 400 and "The two new passwords differ." in differ[1]
    assert changed == 303
    assert mine[0] == 200 and "your other sessions have ended" in mine[1]
    assert theirs == 303  # the other browser is sent to the log-in
    assert ui.users.verify("vera", "brand new secret") is not None and ui.users.verify("vera", PASSWORD) is None


def test_the_header_links_to_the_account_page(app_ui):
    app, _ = app_ui

    async def scenario(client):
        await app_log_in(client, "vera")
        return await (await client.get("/site/realtime")).get_data(as_text=True)

    assert '<a class="user" href="/account"' in run_app(app, scenario)
