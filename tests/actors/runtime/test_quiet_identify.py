"""Thespian's message descriptions: class names only unless its debug log is on."""

from __future__ import annotations

import logging

from thespian.system import utilis
from thespian.system.transport import ReceiveEnvelope, TransmitIntent

from actors.runtime.quiet_identify import use_quiet_identify


class Payload:
    def __str__(self) -> str:
        return "the full rendering"


def test_short_description_while_the_debug_log_is_off_and_full_once_it_is_on():
    use_quiet_identify()
    kept = utilis._thesplog_control_settings
    try:
        utilis.thesplog_control(logging.WARNING, False, 0)
        assert ReceiveEnvelope("sender", Payload()).identify() == "ReceiveEnvelope(Payload)"
        assert TransmitIntent("target", Payload()).identify() == "TransmitIntent(Payload)"
        # thesplog_control rebinds its settings: the switch must be seen at the next message
        utilis.thesplog_control(logging.DEBUG, False, 0)
        assert "the full rendering" in ReceiveEnvelope("sender", Payload()).identify()
    finally:
        utilis._thesplog_control_settings = kept
