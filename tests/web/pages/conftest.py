"""Page tests hash many passwords: real Argon2id, but with the cheapest parameters, so that a test
of a form does not spend its time (and the machine's shared cores) in the password hash. The
parameters are stored with each hash, so verification works the same."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr("web.users.passwords._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
