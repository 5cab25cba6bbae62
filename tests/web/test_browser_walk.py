"""An operator's first minutes in a real Chromium: log in, walk the data-center tree, log out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.ui_support import PASSWORD, start_ui_gateway, stop_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    process = start_ui_gateway(tmp_path_factory.mktemp("walk"))
    try:
        yield process
    finally:
        stop_gateway(process)


def test_log_in_walk_the_tree_and_log_out(gateway, page, shoot):
    page.goto(gateway.web_url + "/strings/A1/realtime")
    expect(page).to_have_url(re.compile(r"/login\?next=/strings/A1/realtime$"))
    shoot(page, "login")
    page.get_by_label("User name").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/strings/A1/realtime$"))  # back where the bookmark pointed

    tree = page.get_by_role("navigation", name="Data center")
    tree.get_by_role("link", name="Demo data center").click()
    expect(page).to_have_url(re.compile(r"/site/realtime$"))
    tree.get_by_role("link", name="UPS B").click()
    expect(page).to_have_url(re.compile(r"/ups/UPS-B/realtime$"))
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text("UPS B")
    tree.get_by_role("link", name="String B2").click()
    expect(page).to_have_url(re.compile(r"/strings/B2/realtime$"))
    expect(tree.get_by_role("link", name="String B2")).to_have_attribute("aria-current", "page")
    shoot(page, "walk-string")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(gateway.web_url + "/strings/B2/realtime")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # the session really ended


def test_a_wrong_password_says_so_and_lets_nobody_in(gateway, page):
    page.goto(gateway.web_url + "/")
    page.get_by_label("User name").fill("vera")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    page.goto(gateway.web_url + "/site/realtime")
    expect(page).to_have_url(re.compile(r"/login\?next="))
