"""Users in settings.db: Argon2id hashes only, a password policy, and always one administrator."""

from __future__ import annotations

import sqlite3

import pytest

from web.users.book import User, UserBook, UserError
from web.users.roles import allows

PASSWORD = "correct horse battery"


def test_a_user_logs_in_with_their_password_and_only_a_hash_is_stored(tmp_path):
    book = UserBook(tmp_path)
    book.add(User("alice", "operator", "Alice A", "alice@example.com", "+38641000000"), PASSWORD)
    assert book.verify("alice", PASSWORD) == User("alice", "operator", "Alice A", "alice@example.com", "+38641000000")
    assert book.verify("alice", PASSWORD + "x") is None
    assert book.verify("nobody", PASSWORD) is None
    raw = (tmp_path / "settings.db").read_bytes()
    assert PASSWORD.encode() not in raw
    stored = sqlite3.connect(tmp_path / "settings.db").execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "at least 10"), ("x" * 300, "at most 256"), ("Alice12345", "user name")],
)
def test_a_weak_password_is_refused_with_the_reason(tmp_path, password, reason):
    with pytest.raises(UserError, match=reason):
        UserBook(tmp_path).add(User("alice12345", "viewer"), password)


@pytest.mark.parametrize(
    ("user", "field"),
    [
        (User("../etc", "viewer"), "user name"),
        (User("bob", "root"), "role"),
        (User("bob", "viewer", email="not-an-address"), "e-mail"),
        (User("bob", "viewer", phone="call me"), "phone"),
        (User("bob", "viewer", full_name="two\nlines"), "full name"),
    ],
)
def test_bad_details_name_the_field(tmp_path, user, field):
    with pytest.raises(UserError, match=field):
        UserBook(tmp_path).add(user, PASSWORD)


def test_the_last_administrator_can_be_neither_removed_nor_demoted(tmp_path):
    book = UserBook(tmp_path)
    book.add(User("root1", "admin"), PASSWORD)
    with pytest.raises(UserError, match="last administrator"):
        book.remove("root1")
    with pytest.raises(UserError, match="last administrator"):
        book.update(User("root1", "viewer"))
    book.add(User("root2", "admin"), PASSWORD)
    book.update(User("root1", "viewer"))
    assert book.get("root1").role == "viewer"


def test_a_duplicate_name_and_an_unknown_user_are_refused(tmp_path):
    book = UserBook(tmp_path)
    book.add(User("bob", "viewer"), PASSWORD)
    with pytest.raises(UserError, match="exists already"):
        book.add(User("bob", "admin"), PASSWORD)
    with pytest.raises(UserError, match="no user named"):
        book.set_password("carol", PASSWORD)


def test_each_role_may_do_what_the_one_below_may_and_more():
    assert allows("admin", "operator") and allows("operator", "viewer")
    assert not allows("viewer", "operator") and not allows("operator", "admin")
    assert not allows("superuser", "viewer")
