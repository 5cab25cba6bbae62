"""ThrottledLog: a repeated event is written once per interval, with the count of repeats left out."""

from __future__ import annotations

from observability.throttled_log import ThrottledLog


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []

    def __getattr__(self, level: str):
        return lambda event, **fields: self.lines.append((level, event, fields))


def test_throttled_log_writes_once_per_interval_and_counts_the_rest() -> None:
    now = [0.0]
    recorder = _Recorder()
    log = ThrottledLog(recorder, interval_s=60.0, clock=lambda: now[0])
    assert log.error("over cap", n=1) is True
    for second in range(1, 60):
        now[0] = float(second)
        assert log.error("over cap", n=1) is False
    log.warning("other event")  # its own window
    now[0] = 60.0
    assert log.error("over cap", n=2) is True
    now[0] = 75.0
    log.error("over cap")
    log.flush()
    log.flush()  # nothing left to say
    assert recorder.lines == [
        ("error", "over cap", {"n": 1}),
        ("warning", "other event", {}),
        ("error", "over cap", {"n": 2, "suppressed": 59, "suppressed_over_s": 60.0}),
        ("error", "over cap", {"suppressed": 1, "suppressed_over_s": 15.0}),
    ]
