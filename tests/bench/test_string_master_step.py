"""bench/string_master_step.py: both sides measure real scans and the last line carries the figures."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import REPO


def test_a_short_comparison_with_a_checked_out_revision_ends_with_both_figures():
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "string_master_step.py"), "--baseline", "HEAD", "--rounds", "1"]
        + ["--scans", "3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "string_master_step" and figures["cells"] == 120 and figures["baseline"] == "HEAD"
    assert figures["ms_per_scan"] > 0 and figures["baseline_ms"] > 0


def test_an_unknown_revision_is_one_line_of_error_not_a_traceback():
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "string_master_step.py"), "--baseline", "no-such-rev", "--scans", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown revision 'no-such-rev'" in done.stderr and "Traceback" not in done.stderr
