"""Let Thespian describe a message in its debug log only when that log would be written.

Thespian 4.0.1 calls `identify()` on every envelope it receives and on every transmit intent it
sends ("ACTOR got %s", "Attempting intent %s", "actualTransmit of %s"), and passes the string to
`thesplog`, which drops it unless its threshold is DEBUG. Each call renders the message, the
target address and a timer as text: three renderings per message, plus those of the
acknowledgements. In a string master that was a fifth of the CPU spent sending its status
(py-spy on a full gateway). The gateway runs Thespian's log at WARNING (runtime/system.py), so
with the threshold above DEBUG the description is the class names only.

Like loopback.py and poll_selector.py this touches a library internal: thespian is pinned in
pyproject.toml, and every integration test runs on the patched transport.
"""

from __future__ import annotations

import logging

from thespian.system import utilis

_installed = False


def _debug_log_written() -> bool:
    """Read on every call: thesplog_control rebinds the settings. Imported once above: a
    `from ... import` here ran the import machinery twice per message (a tenth of a string
    master's CPU under py-spy)."""
    return utilis._thesplog_control_settings[0] <= logging.DEBUG


def use_quiet_identify() -> None:
    """Install (idempotent). Forked actor processes inherit it."""
    global _installed
    if _installed:
        return
    from thespian.system.transport import ReceiveEnvelope, TransmitIntent

    def quiet(full):
        def identify(self) -> str:
            if _debug_log_written():
                return full(self)
            return f"{type(self).__name__}({type(self.message).__name__})"

        return identify

    ReceiveEnvelope.identify = quiet(ReceiveEnvelope.identify)
    TransmitIntent.identify = quiet(TransmitIntent.identify)
    _installed = True
