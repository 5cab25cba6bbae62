"""Failed log-ins counted per client address and per user name, each in its own window.

Per address stops one machine guessing; per user stops many machines guessing one password
(it also lets a guesser lock a user out for a while: LOCK_S is short so that costs little).
A throttled attempt is refused with 429 and Retry-After before the password is checked, so the
right password does not get in either until the window has passed.
"""

from __future__ import annotations

from web.auth_throttle import FailureWindow

PER_ADDRESS = 10  # failures ...
PER_USER = 5
LOCK_S = 300.0  # ... within this window


class LoginThrottle:
    def __init__(self, per_address: int = PER_ADDRESS, per_user: int = PER_USER, window_s: float = LOCK_S) -> None:
        self.by_address = FailureWindow(max_failures=per_address, window_s=window_s)
        self.by_user = FailureWindow(max_failures=per_user, window_s=window_s)

    def retry_after(self, address: str, user: str) -> int:
        """Seconds until this address may try this user again; 0 when it may now."""
        return max(self.by_address.retry_after(address), self.by_user.retry_after(user.lower()[:64]))

    def failed(self, address: str, user: str) -> None:
        self.by_address.failed(address)
        self.by_user.failed(user.lower()[:64])
