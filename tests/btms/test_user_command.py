"""`btms user`: the first administrator from a script, passwords twice, no password on the command line."""

from __future__ import annotations

import subprocess
import sys

from tests.gateway_process import REPO, write_demo_topology
from web.users.book import UserBook


def user_command(topology, *args, stdin: str = ""):
    return subprocess.run(
        [sys.executable, "-m", "btms.cli", "user", *args, "--topology", str(topology)],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_installer_makes_the_first_administrator_and_lists_the_users(tmp_path):
    topology, data = write_demo_topology(tmp_path)
    made = user_command(topology, "add", "root", "--admin", "--email", "ops@example.com", stdin="first pass 1\n" * 2)
    assert made.returncode == 0, made.stderr
    assert "role admin" in made.stdout
    listed = user_command(topology, "list")
    assert "root" in listed.stdout and "ops@example.com" in listed.stdout and "admin" in listed.stdout
    assert "first pass 1" not in listed.stdout + made.stdout
    storage = tmp_path / "var"
    assert UserBook(storage).verify("root", "first pass 1") is not None


def test_two_different_passwords_or_a_short_one_add_nobody(tmp_path):
    topology, _ = write_demo_topology(tmp_path)
    differ = user_command(topology, "add", "bob", stdin="one password\nanother one\n")
    short = user_command(topology, "add", "bob", stdin="short\nshort\n")
    assert differ.returncode == 1 and "differ" in differ.stderr
    assert short.returncode == 1 and "at least 10" in short.stderr
    assert UserBook(tmp_path / "var").get("bob") is None


def test_set_passwd_and_remove_change_what_they_say(tmp_path):
    topology, _ = write_demo_topology(tmp_path)
    assert user_command(topology, "add", "root", "--admin", stdin="root password\n" * 2).returncode == 0
    assert user_command(topology, "add", "bob", stdin="bobs password\n" * 2).returncode == 0
    changed = user_command(
        topology, "set", "bob", "--role", "operator", "--phone", "+386 41 000 000", "--sms-alarms", "off"
    )
    assert changed.returncode == 0, changed.stderr
    assert user_command(topology, "passwd", "bob", stdin="a new password\n" * 2).returncode == 0
    book = UserBook(tmp_path / "var")
    bob = book.verify("bob", "a new password")
    assert bob is not None and bob.role == "operator" and bob.phone == "+386 41 000 000" and not bob.receive_sms
    refused = user_command(topology, "remove", "root")
    assert refused.returncode == 1 and "last administrator" in refused.stderr
    assert user_command(topology, "remove", "bob").returncode == 0
    assert book.get("bob") is None
