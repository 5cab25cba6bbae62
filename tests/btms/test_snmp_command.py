"""`btms snmp`: SNMP settings of a headless install, credentials from standard input only, never
printed; refused values get the loader's words and exit 1 without a traceback."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.gateway_process import REPO, btms, write_demo_topology


def snmp(topology, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "btms.cli", "snmp", *args, "--topology", str(topology)],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def snmp_topology(tmp_path):
    topology, data = write_demo_topology(tmp_path)
    data["services"]["snmp"] = {"enabled": True, "port": 1161, "read_community": "yaml-community-1"}
    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    return topology


def test_set_show_and_reset_with_secrets_only_on_stdin(tmp_path):
    topology = snmp_topology(tmp_path)
    assert snmp(topology, "set", "read_community", stdin="cli-community-2\n").returncode == 0
    added = snmp(topology, "user", "add", "ops", "--auth-protocol", "SHA-256", stdin="auth-Key-2468\npriv-Key-1357\n")
    assert added.returncode == 0, added.stderr
    assert snmp(topology, "receiver", "add", "192.0.2.10:162").returncode == 0
    shown = snmp(topology, "show")
    assert shown.returncode == 0
    assert "read_community = set (set here)" in shown.stdout
    assert "v3_user ops: SHA-256, AES, auth key set, priv key set (set here)" in shown.stdout
    assert "trap_receiver 192.0.2.10:162 (set here)" in shown.stdout
    for secret in ("cli-community-2", "auth-Key-2468", "priv-Key-1357", "yaml-community-1"):
        assert secret not in shown.stdout + shown.stderr + added.stdout
    assert snmp(topology, "reset").returncode == 0
    shown = snmp(topology, "show").stdout
    assert "read_community = set (topology.yaml)" in shown and "ops" not in shown and "192.0.2.10" not in shown


def test_refused_values_say_why_in_the_loaders_words(tmp_path):
    topology = snmp_topology(tmp_path)
    public = snmp(topology, "set", "read_community", stdin="public\n")
    assert public.returncode == 1
    assert "read_community: 'public' is a well-known default" in public.stderr and "Traceback" not in public.stderr
    on_argv = snmp(topology, "set", "read_community", "my-secret-community")
    assert on_argv.returncode == 1 and "never from the command line" in on_argv.stderr
    assert "my-secret-community" not in on_argv.stderr
    short = snmp(topology, "user", "add", "ops", stdin="short\npriv-Key-1357\n")
    assert short.returncode == 1 and "v3_users.ops.auth_key: must be at least 8 characters" in short.stderr
    bad = snmp(topology, "receiver", "add", "nms:99999")
    assert bad.returncode == 1 and "trap_receivers: 'nms:99999' is not HOST:PORT" in bad.stderr
    last = snmp(topology, "set", "read_community", "off")  # the only way in: refused while SNMP is enabled
    assert last.returncode == 1 and "enabled: SNMP is enabled but neither" in last.stderr
    assert btms("snmp", "show", "--topology", str(topology)).stdout.count("(set here)") == 0
