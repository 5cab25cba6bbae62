"""The secrets file: mode 0600 from its first byte, replaced atomically, bad content named."""

from __future__ import annotations

import multiprocessing
import os
import stat

import pytest
from structlog.testing import capture_logs

from storage.secrets_file import (
    MAX_BYTES,
    SecretsFileError,
    read_secrets,
    secrets_path,
    update_secrets,
    write_secrets,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_written_with_mode_0600_whatever_the_umask(tmp_path, umask):
    path = secrets_path(tmp_path / "var")
    old = os.umask(umask)
    try:
        write_secrets(path, {"smtp.password": "pa55word"})
        write_secrets(path, {"smtp.password": "pa55word", "sms.http_token": "tok-123"})  # replaces
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert read_secrets(path) == {"smtp.password": "pa55word", "sms.http_token": "tok-123"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.json"]  # no temporary file left


def test_a_missing_file_is_empty_and_update_creates_it_only_when_something_is_set(tmp_path):
    path = tmp_path / "secrets.json"
    assert read_secrets(path) == {}
    assert update_secrets(path, {"smtp.password": None, "sms.modem_pin": ""}) is False
    assert not path.exists()
    assert update_secrets(path, {"smtp.password": "one"}) is True
    assert update_secrets(path, {"sms.http_token": "two"}) is True
    assert update_secrets(path, {"sms.http_token": "two"}) is False  # unchanged: not rewritten
    assert update_secrets(path, {"smtp.password": ""}) is True  # removed, the other one kept
    assert read_secrets(path) == {"sms.http_token": "two"}


def test_a_file_others_can_read_is_tightened_and_said(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text('{"smtp.password": "pa55word"}')
    path.chmod(0o644)
    with capture_logs() as logs:
        assert read_secrets(path) == {"smtp.password": "pa55word"}
    assert mode(path) == 0o600
    assert [(e["event"], e["was"]) for e in logs] == [("secrets file was readable by others; set to 0600", "0o644")]
    assert "pa55word" not in repr(logs)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"{not json", "not valid JSON"),
        (b'["smtp.password"]', "must be one JSON object of names to strings"),
        (b'{"smtp.password": 1234}', "must be one JSON object of names to strings"),
        (b"\xff\xfe", "not valid JSON"),
        (b" " * (MAX_BYTES + 1), f"larger than {MAX_BYTES} bytes"),
    ],
)
def test_bad_content_is_named_with_the_file_and_left_untouched(tmp_path, content, problem):
    path = tmp_path / "secrets.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(SecretsFileError, match=problem) as raised:
        read_secrets(path)
    assert str(path) in str(raised.value)
    with pytest.raises(SecretsFileError):
        update_secrets(path, {"smtp.password": "new"})  # an update never overwrites what it cannot read
    assert path.read_bytes() == content


def test_not_a_regular_file(tmp_path):
    (tmp_path / "secrets.json").mkdir()
    with pytest.raises(SecretsFileError, match="secrets.json: not a regular file"):
        read_secrets(tmp_path / "secrets.json")
    (tmp_path / "elsewhere.json").write_text("{}")
    os.symlink(tmp_path / "elsewhere.json", tmp_path / "link.json")
    with pytest.raises(SecretsFileError, match="link.json: cannot open"):
        read_secrets(tmp_path / "link.json")


def _set_many(path, name: str, count: int) -> None:
    for i in range(count):
        update_secrets(path, {f"{name}.{i}": "x" * 8})


def test_two_writers_at_once_lose_nothing(tmp_path):
    """The CLI and the gateway may write at the same moment: the directory lock serialises them."""
    path = tmp_path / "secrets.json"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_set_many, args=(path, name, 40)) for name in ("a", "b")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    assert [w.exitcode for w in writers] == [0, 0]
    assert len(read_secrets(path)) == 80
