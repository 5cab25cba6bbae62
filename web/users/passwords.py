"""Password hashing with Argon2id (argon2-cffi): memory-hard, its parameters stored in each hash.

A gateway's users choose their passwords, so a leaked settings.db must not give them away at
GPU speed. The parameters are the library's defaults (RFC 9106's second recommendation:
64 MiB, 3 passes); one check costs about 50 ms of one core, which is also what bounds a
password guesser that gets past the log-in throttle.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256  # a 1 MB "password" would cost the hasher, not the attacker

_hasher = PasswordHasher()


class PasswordRejected(ValueError):
    """A new password that the policy refuses; the message says why."""


def check_new_password(name: str, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"the password must have at most {MAX_LENGTH} characters")
    if password.strip().lower() == name.strip().lower():
        raise PasswordRejected("the password must not be the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """True when `password` is the one `stored_hash` was made from; never raises on bad input."""
    if not stored_hash or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_check(password: str) -> None:
    """Spend what a real check costs, so an unknown user name answers as slowly as a known one."""
    password_matches(_dummy_hash(), password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")
