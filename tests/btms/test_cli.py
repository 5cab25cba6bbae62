"""The `btms` command line as an installer uses it: check, bom, run on a bad file, tokens, secrets."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import time

import pytest
import yaml

from actors.runtime.system import admin_port_in_use
from tests.gateway_process import REPO, btms, permissive_umask
from tests.hostile_topologies import all_hostile
from tests.support import free_port

CHECK_MEMORY_BYTES = 512 * 1024 * 1024  # address space of one `btms check`; an alias bomb once took 3.3 GB

pytestmark = pytest.mark.integration


def bad_topology(tmp_path):
    data = yaml.safe_load((REPO / "topology.yaml").read_text())
    data["gateway"]["admin_port"] = free_port()
    data["storage"]["path"] = str(tmp_path / "var")
    data["upses"][0]["strings"][0]["battery"]["count"] = 130
    data["upses"][1]["strings"][0]["bus"] = "rs485-9"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, data


def test_run_refuses_a_bad_topology_with_the_messages_of_check_and_starts_nothing(tmp_path):
    path, data = bad_topology(tmp_path)
    checked = btms("check", str(path))
    assert checked.returncode != 0
    problems = [
        line
        for line in checked.stderr.splitlines()
        if line.startswith(f"{path}:") and ": " in line[len(str(path)) + 1 :]
    ]
    assert any("130 is more than the 120 batteries" in p for p in problems)
    assert any("rs485-9" in p for p in problems)
    run = btms("run", str(path), timeout=30)
    assert run.returncode == 2
    for problem in problems:
        assert problem in run.stderr
    assert "not started" in run.stderr
    assert not admin_port_in_use(data["gateway"]["admin_port"])


def test_check_and_bom_of_the_demo_site():
    checked = btms("check", "topology.yaml")
    assert checked.returncode == 0 and "4 strings" in checked.stdout
    bom = btms("bom", "topology.yaml")
    assert bom.returncode == 0
    lines = {line.split()[0]: line for line in bom.stdout.splitlines() if line[:2] in ("BM", "PS")}
    assert " 160 " in lines["BM-CS"] and " 4 " in lines["BM-SS"] and " 1 " in lines["PS-60-24"]


def test_check_names_file_and_line_of_a_bad_modbus_connection_limit(tmp_path):
    data = yaml.safe_load((REPO / "topology.yaml").read_text())
    data["services"]["modbus"].update({"max_connections": 0, "idle_timeout_s": "forever"})
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    lines = path.read_text().splitlines()
    cap_line = 1 + next(n for n, line in enumerate(lines) if "max_connections: 0" in line)
    idle_line = 1 + next(n for n, line in enumerate(lines) if "idle_timeout_s: forever" in line)
    checked = btms("check", str(path))
    assert checked.returncode != 0
    assert f"{path}:{cap_line}: services.modbus.max_connections: 0 is less than 1" in checked.stderr
    assert (
        f"{path}:{idle_line}: services.modbus.idle_timeout_s: must be a number; got the text 'forever'"
        in checked.stderr
    )


def test_tokens_are_created_listed_revoked_and_never_repeated(tmp_path):
    path, data = bad_topology(tmp_path)
    good = tmp_path / "good.yaml"
    data["upses"][0]["strings"][0]["battery"]["count"] = 40
    data["upses"][1]["strings"][0]["bus"] = "sim"
    good.write_text(yaml.safe_dump(data, sort_keys=False))
    first = btms("token", "create", "scada-1", "--topology", str(good))
    second = btms("token", "create", "scada-2", "--topology", str(good))
    assert first.returncode == second.returncode == 0
    assert first.stdout.strip() != second.stdout.strip() and first.stdout.startswith("btms_")
    again = btms("token", "create", "scada-1", "--topology", str(good))
    assert again.returncode == 1 and "exists already" in again.stderr
    listed = btms("token", "list", "--topology", str(good)).stdout
    assert "scada-1" in listed and "scada-2" in listed and first.stdout.strip() not in listed
    assert btms("token", "revoke", "scada-1", "--topology", str(good)).returncode == 0
    assert "scada-1" not in btms("token", "list", "--topology", str(good)).stdout
    assert btms("token", "revoke", "scada-1", "--topology", str(good)).returncode == 1


def test_secrets_are_set_from_standard_input_listed_by_name_and_cleared(tmp_path):
    path, data = bad_topology(tmp_path)
    good = tmp_path / "good.yaml"
    data["upses"][0]["strings"][0]["battery"]["count"] = 40
    data["upses"][1]["strings"][0]["bus"] = "sim"
    good.write_text(yaml.safe_dump(data, sort_keys=False))
    storage = tmp_path / "var"

    def secret(*args: str, value: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "btms.cli", "secret", *args, "--topology", str(good)],
            cwd=REPO,
            input=value,
            capture_output=True,
            text=True,
            timeout=60,
        )

    stored = secret("set", "smtp.password", value="Corr3ct-horse\n")
    assert stored.returncode == 0, stored.stderr
    assert "smtp.password set in" in stored.stdout and "Corr3ct-horse" not in stored.stdout + stored.stderr
    assert stat.S_IMODE(os.stat(storage / "secrets.json").st_mode) == 0o600
    assert b"Corr3ct-horse" in (storage / "secrets.json").read_bytes()
    database = b"".join(p.read_bytes() for p in storage.glob("settings.db*"))
    assert b"Corr3ct-horse" not in database and b"@secrets.json" in database
    assert secret("list").stdout.split() == ["smtp.password"]

    empty = secret("set", "sms.http_token", value="\n")
    assert empty.returncode == 2 and "no value given for sms.http_token" in empty.stderr
    not_a_secret = secret("set", "smtp.host", value="mail.example.com\n")
    assert not_a_secret.returncode == 2 and "invalid choice: 'smtp.host'" in not_a_secret.stderr

    cleared = secret("clear", "smtp.password")
    assert cleared.returncode == 0 and "smtp.password removed" in cleared.stdout
    assert secret("list").stdout.split() == []

    (storage / "secrets.json").write_text("{broken")
    broken = secret("list")
    assert broken.returncode == 1 and "secrets.json: not valid JSON" in broken.stderr


def _limit_memory() -> None:
    """In the child before it runs: a `btms check` that needs more memory fails instead of swapping."""
    resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY_BYTES, CHECK_MEMORY_BYTES))


@pytest.mark.parametrize("hostile", all_hostile(), ids=lambda h: h.name)
def test_check_refuses_each_hostile_file_quickly_in_bounded_memory(tmp_path, hostile):
    path = tmp_path / f"{hostile.name}.yaml"
    path.write_text(hostile.text)
    started = time.monotonic()
    checked = subprocess.run(
        [sys.executable, "-m", "btms.cli", "check", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert "Traceback" not in checked.stderr, checked.stderr[-2000:]
    assert checked.returncode == 1
    where = f"{path}:{hostile.line}: " if hostile.line is not None else f"{path}: "
    problem, summary = checked.stderr.splitlines()
    assert problem.startswith(where) and hostile.says in problem
    assert summary == f"{path}: 1 problem(s)"
    assert elapsed < 10, f"btms check took {elapsed:.1f} s"


def test_check_prints_the_first_100_problems_and_counts_the_rest(tmp_path):
    text = (REPO / "topology.yaml").read_text()
    unknown = "".join(f"  unknown_{n}: 1\n" for n in range(250))
    path = tmp_path / "many.yaml"
    path.write_text(text.replace("storage:\n", "storage:\n" + unknown, 1))
    checked = btms("check", str(path))
    lines = checked.stderr.splitlines()
    assert checked.returncode == 1 and len(lines) == 102
    assert all(line.startswith(f"{path}:") and ": storage.unknown_" in line for line in lines[:100])
    assert lines[100:] == ["... and 150 more problems", f"{path}: 250 problem(s)"]


def test_token_create_keeps_the_storage_and_the_token_database_private(tmp_path):
    """The settings database holds the token hashes: with a umask of 022 it used to be world-readable."""
    data = yaml.safe_load((REPO / "topology.yaml").read_text())
    data["storage"]["path"] = str(tmp_path / "var")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    created = btms("token", "create", "scada", "--topology", str(path), preexec_fn=permissive_umask)
    assert created.returncode == 0, created.stderr
    storage = tmp_path / "var"
    assert stat.S_IMODE(storage.stat().st_mode) == 0o700
    files = [p for p in storage.iterdir() if p.is_file()]
    assert any(p.name == "settings.db" for p in files)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: oct(0o600) for p in files}
