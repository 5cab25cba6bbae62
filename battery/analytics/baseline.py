"""A cell's resistance baseline, learned over a commissioning window rather than one sample.

IEEE 1188 judges ohmic values against a baseline taken when the battery is new and settled on
float. One reading scatters by a few µΩ and a new battery's resistance still settles in its
first days, so the baseline is the median of `samples` readings spread evenly over the first
`window_s` of float readings. Until the window is over the median so far serves as a
provisional baseline (once there are `min_samples`); then it is fixed for the battery's life.
Readings taken during a discharge, a recharge or an open-circuit rest are not sampled (the
caller, cell_step, passes only readings on float).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from battery.analytics.params import BaselineParams


@dataclass(frozen=True)
class ResistanceBaseline:
    started_at: float | None = None  # timestamp of the first sample
    samples: tuple[int, ...] = ()  # µΩ, at most BaselineParams.samples of them
    last_sample_at: float | None = None
    learned_uohm: float | None = None  # set once the window is over: fixed from then on
    learned_at: float | None = None
    median_uohm: float | None = None  # of the samples so far (kept: it is read every scan)

    @property
    def final(self) -> bool:
        return self.learned_uohm is not None


def baseline_uohm(baseline: ResistanceBaseline, params: BaselineParams) -> float | None:
    """The baseline to judge a reading against: the learned one, else provisional, else None."""
    if baseline.learned_uohm is not None:
        return baseline.learned_uohm
    if len(baseline.samples) >= params.min_samples:
        return baseline.median_uohm if baseline.median_uohm is not None else float(statistics.median(baseline.samples))
    return None


def step_baseline(
    baseline: ResistanceBaseline,
    resistance_uohm: float,
    now: float,
    params: BaselineParams,
    steady: bool = True,
) -> ResistanceBaseline:
    """The baseline after one valid reading at `now`; `steady`: taken on float."""
    if baseline.final or not steady or not math.isfinite(resistance_uohm) or resistance_uohm <= 0:
        return baseline
    if baseline.started_at is not None and now - baseline.started_at >= params.window_s:
        return _learned(baseline, now, params)
    interval = params.window_s / max(1, params.samples)
    if baseline.last_sample_at is not None and now - baseline.last_sample_at < interval:
        return baseline
    if len(baseline.samples) >= params.samples:
        return _learned(baseline, now, params)
    started = baseline.started_at if baseline.started_at is not None else now
    samples = baseline.samples + (round(resistance_uohm),)
    return ResistanceBaseline(started, samples, now, median_uohm=float(statistics.median(samples)))


def _learned(baseline: ResistanceBaseline, now: float, params: BaselineParams) -> ResistanceBaseline:
    if not baseline.samples:
        return baseline
    median = float(statistics.median(baseline.samples))
    return ResistanceBaseline(baseline.started_at, baseline.samples, baseline.last_sample_at, median, now, median)


def seeded(reference_uohm: int) -> ResistanceBaseline:
    """A baseline from an older gateway's single reference reading: one sample, still learning
    (its window starts with the next reading)."""
    if reference_uohm <= 0:
        return ResistanceBaseline()
    return ResistanceBaseline(samples=(int(reference_uohm),), median_uohm=float(reference_uohm))
