"""The `btms` command line as an installer uses it: check, bom, run on a bad file, tokens."""

from __future__ import annotations

import stat

import pytest
import yaml

from actors.runtime.system import admin_port_in_use
from tests.gateway_process import REPO, btms, permissive_umask
from tests.support import free_port

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
    problems = [line for line in checked.stderr.splitlines() if line.startswith(f"{path}:") and ": " in line[len(str(path)) + 1:]]
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
