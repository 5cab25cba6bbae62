"""Scores of bench/analytics.py: the estimates of a run against the simulator's truth."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analytics_run import Run

RANK_RISE = 0.20  # the ranking must be exact for every battery with at least this resistance rise


@dataclass(frozen=True)
class SocError:
    rms_pct: float
    max_pct: float  # largest |estimate - truth|, in % points
    worst_at_s: float  # when, from the run's start
    bias_pct: float  # mean estimate - truth


def soc_error(run: Run) -> SocError:
    errors = [s.soc_est_pct - s.soc_true_pct for s in run.samples]
    if not errors:
        return SocError(0.0, 0.0, 0.0, 0.0)
    worst = max(range(len(errors)), key=lambda k: abs(errors[k]))
    return SocError(
        math.sqrt(sum(e * e for e in errors) / len(errors)),
        abs(errors[worst]),
        run.samples[worst].t - run.samples[0].t,
        sum(errors) / len(errors),
    )


@dataclass(frozen=True)
class EventMatch:
    true_start: float
    true_end: float | None
    start_error_scans: float | None  # estimate - truth, in scans; None: not detected
    end_error_scans: float | None

    @property
    def detected(self) -> bool:
        return self.start_error_scans is not None

    @property
    def within_one_scan(self) -> bool:
        return (
            self.start_error_scans is not None
            and abs(self.start_error_scans) <= 1.0
            and self.end_error_scans is not None
            and abs(self.end_error_scans) <= 1.0
        )


def match_events(run: Run) -> tuple[list[EventMatch], int]:
    """Each true discharge with the estimated event that overlaps it; and the false events
    (estimated events that overlap no true discharge)."""
    scan = run.discharge_scan_s
    used: set[int] = set()
    matches = []
    for true in run.true_discharges:
        end = true.end if true.end is not None else math.inf
        hit = next(
            (k for k, (s, e) in enumerate(run.estimated_events) if k not in used and s < end and e > true.start), None
        )
        if hit is None:
            matches.append(EventMatch(true.start, true.end, None, None))
            continue
        used.add(hit)
        s, e = run.estimated_events[hit]
        end_error = None if true.end is None else (e - true.end) / scan
        matches.append(EventMatch(true.start, true.end, (s - true.start) / scan, end_error))
    return matches, len(run.estimated_events) - len(used)


def ranking_exact(true_order: list[int], estimated_order: list[int], rises: dict[int, float]) -> bool:
    """Every battery of the true weakest five with a resistance rise of RANK_RISE or more holds
    the same place in the estimated ranking."""
    return all(
        k < len(estimated_order) and estimated_order[k] == cell
        for k, cell in enumerate(true_order)
        if rises[cell] >= RANK_RISE
    )


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
