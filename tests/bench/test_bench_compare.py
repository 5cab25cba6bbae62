"""`bench/scale.py --compare`: figures read and summarized, dependencies compared, trees run and removed.

No gateway: the trees run here are a real git worktree of a throw-away repository and a
stand-in bench/scale.py that prints figures, so each test takes well under a second.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.compare_trees import (
    FIGURES,
    TODAY,
    last_json_object,
    ratio,
    run_side,
    run_side_attempts,
    side_order,
    summarize,
)
from bench.revision_tree import CompareError, checked_out, dependencies_differ, project_requirements

DEPENDENCIES = '["thespian==4.0.1", "PyYAML>=6.0"]'


def figures(cpu: float, pss: float, done: int = 20, expected: int = 20, lag: float = 10.0, cells: int = 960) -> dict:
    return {
        "bench": "scale",
        "cells": cells,
        "scans_expected": expected,
        "scans_done": done,
        "worst_lag_ms": lag,
        "cpu_s_per_s": cpu,
        "pss_mib": pss,
    }


def test_the_figures_are_the_last_non_empty_line():
    out = "serving after 2.0 s\n" + '{"note": "not last"}\n' + '{"bench": "scale", "cells": 960, "scans_expected": 20, '
    out += '"scans_done": 19, "worst_lag_ms": 3.5, "cpu_s_per_s": 0.2, "pss_mib": 300.0}\n\n'
    assert last_json_object(out, "today r1")["scans_done"] == 19


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        ("", "printed nothing"),
        ("CPU: 3 s\nTraceback (most recent call last)\n", "last line is not JSON"),
        ("[1, 2]\n", "not a JSON object"),
        ('{"bench": "scale", "cells": 960}\n', "lacks scans_expected, scans_done, worst_lag_ms, cpu_s_per_s, pss_mib"),
        (
            '{"cells": 9, "scans_expected": 1, "scans_done": 1, "worst_lag_ms": "x", "cpu_s_per_s": true, "pss_mib": 1}',
            "non-numbers for worst_lag_ms, cpu_s_per_s",
        ),
    ],
)
def test_unreadable_figures_name_the_side_and_the_problem(out, problem):
    with pytest.raises(CompareError, match=f"^bd70257 r2.*{problem}"):
        last_json_object(out, "bd70257 r2")


def test_the_summary_is_today_s_medians_and_worst_cases_with_ratios_to_the_baseline():
    today = [
        figures(0.30, 400.0, done=20, expected=20, lag=5.0),
        figures(0.20, 420.0, done=18, expected=21, lag=40.0),
        figures(0.25, 380.0, done=19, expected=19, lag=7.0),
    ]
    baseline = [figures(0.50, 200.0, lag=90.0), figures(0.40, 210.0, done=17), figures(0.60, 190.0)]
    summary = summarize("bd70257", today, baseline)
    assert list(summary)[:10] == [*("bench", *FIGURES), "baseline", "cpu_ratio", "pss_ratio"]
    assert summary["cells"] == 960
    assert (summary["cpu_s_per_s"], summary["pss_mib"]) == (0.25, 400.0)
    assert (summary["scans_done"], summary["scans_expected"]) == (18, 21)  # the fewest, with its own expectation
    assert summary["worst_lag_ms"] == 40.0
    assert summary["baseline"] == "bd70257"
    assert (summary["cpu_ratio"], summary["pss_ratio"]) == (0.5, 2.0)
    assert (summary["baseline_cpu_s_per_s"], summary["baseline_pss_mib"]) == (0.5, 200.0)
    assert (summary["baseline_scans_done"], summary["baseline_worst_lag_ms"], summary["rounds"]) == (17, 90.0, 3)


def test_an_even_number_of_rounds_takes_the_mean_of_the_middle_two():
    summary = summarize("v1", [figures(0.2, 300.0), figures(0.4, 500.0)], [figures(0.3, 400.0), figures(0.3, 400.0)])
    assert (summary["cpu_s_per_s"], summary["pss_mib"], summary["cpu_ratio"], summary["pss_ratio"]) == (
        0.3,
        400.0,
        1.0,
        1.0,
    )


def test_no_ratio_to_a_zero_baseline():
    assert ratio(0.2, 0.0) is None
    assert ratio(0.2, 0.4) == 0.5


def test_sides_that_measured_different_sites_are_refused():
    with pytest.raises(CompareError, match=r"different sites \(cells \[960, 3840\]\)"):
        summarize("old", [figures(0.2, 300.0, cells=960)] * 2, [figures(0.2, 300.0, cells=3840)] * 2)


def test_the_sides_alternate_and_the_order_flips_every_round():
    assert [side_order(n, "bd70257") for n in (1, 2, 3)] == [["bd70257", TODAY], [TODAY, "bd70257"], ["bd70257", TODAY]]


def test_dependencies_are_compared_as_pip_reads_them():
    ours = ["thespian==4.0.1", "PyYAML>=6.0", "pymodbus>=3.16,<3.17"]
    assert not dependencies_differ(ours, ["pymodbus >= 3.16, < 3.17", "pyyaml>=6.0", "Thespian==4.0.1"])
    assert dependencies_differ(ours, ["thespian==4.0.1", "PyYAML>=6.0", "pymodbus>=3.15,<3.16"])
    assert dependencies_differ(ours, ["thespian==4.0.1", "PyYAML>=6.0"])


def test_requirements_come_from_the_project_table_and_its_test_extra(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [project]
        name = "x"
        dependencies = {DEPENDENCIES}  # a comment
        [project.optional-dependencies]
        test = ["psutil>=5.9"]
        """)
    )
    assert project_requirements(tmp_path, "v1") == (["thespian==4.0.1", "PyYAML>=6.0"], ["psutil>=5.9"])


def test_a_tree_without_a_readable_pyproject_is_named(tmp_path):
    with pytest.raises(CompareError, match="^v1 has no pyproject.toml"):
        project_requirements(tmp_path, "v1")
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(CompareError, match="^v1's pyproject.toml is not valid TOML"):
        project_requirements(tmp_path, "v1")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository of two commits whose dependencies are the same."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = {DEPENDENCIES}\n')
    (root / "version.txt").write_text("old\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "old")
    git(root, "tag", "old")
    (root / "version.txt").write_text("new\n")
    git(root, "commit", "-q", "-am", "new")
    return root


def test_an_unknown_revision_is_refused_before_anything_is_created(repo):
    for rev in ("no-such-rev", "--help"):
        with pytest.raises(CompareError, match=f"^unknown revision '{rev}'"):
            with checked_out(repo, rev):
                pass
    assert git(repo, "worktree", "list").count("\n") == 1


def test_the_revision_is_checked_out_aside_and_removed_even_after_an_error(repo):
    with pytest.raises(RuntimeError, match="a side failed"):
        with checked_out(repo, "old") as tree:
            root = tree.root
            assert (root / "version.txt").read_text() == "old\n"
            assert (repo / "version.txt").read_text() == "new\n"
            assert (tree.python, tree.own_environment) == (sys.executable, False)  # same dependencies
            assert str(root) in git(repo, "worktree", "list")
            raise RuntimeError("a side failed")
    assert not root.parent.exists()
    assert git(repo, "worktree", "list").count("\n") == 1


STAND_IN = """\
import json, os, sys
import marker  # importable only through PYTHONPATH: the script's own folder is bench/
if marker.FAIL:
    print("started", flush=True)
    print("Traceback: the gateway did not start", file=sys.stderr)
    sys.exit(1)
print("serving")
print(json.dumps({"bench": "scale", "cells": marker.CELLS, "scans_expected": 20, "scans_done": 20,
                  "worst_lag_ms": 1.0, "cpu_s_per_s": 0.1, "pss_mib": 100.0, "cwd": os.getcwd(), "args": sys.argv[1:]}))
"""


def stand_in_tree(root: Path, cells: int, fail: bool = False) -> Path:
    (root / "bench").mkdir(parents=True)
    (root / "bench" / "scale.py").write_text(STAND_IN)
    (root / "marker.py").write_text(f"CELLS = {cells}\nFAIL = {fail}\n")
    return root


def test_a_side_runs_its_own_tree_s_bench_with_the_same_arguments(tmp_path, capsys):
    tree = stand_in_tree(tmp_path / "tree", cells=123)
    run = run_side("v1 r1", sys.executable, tree, ["--seconds", "20.0"], 20.0, tmp_path)
    assert (run["cells"], run["cwd"], run["args"]) == (123, str(tree), ["--seconds", "20.0"])
    assert "  [v1 r1] serving" in capsys.readouterr().out


def test_a_failed_side_is_one_line_with_its_stderr_tail(tmp_path, capsys):
    tree = stand_in_tree(tmp_path / "tree", cells=123, fail=True)
    with pytest.raises(
        CompareError, match="^v1 r2's run failed with exit status 1: Traceback: the gateway did not start$"
    ):
        run_side("v1 r2", sys.executable, tree, [], 20.0, tmp_path)
    assert "  [v1 r2 stderr] Traceback: the gateway did not start" in capsys.readouterr().err


FAILS_ONCE = """\
import json, pathlib, sys
tried = pathlib.Path("tried")
if not tried.exists():
    tried.write_text("")
    print("btms run exited with 1 before serving", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"bench": "scale", "cells": 960, "scans_expected": 20, "scans_done": 20,
                  "worst_lag_ms": 1.0, "cpu_s_per_s": 0.1, "pss_mib": 100.0}))
"""


def test_a_side_whose_gateway_did_not_start_is_run_again_a_bounded_number_of_times(tmp_path, capsys):
    tree = tmp_path / "tree"
    (tree / "bench").mkdir(parents=True)
    (tree / "bench" / "scale.py").write_text(FAILS_ONCE)
    run = run_side_attempts("v1 r1", sys.executable, tree, [], 20.0, tmp_path, pause_s=0.0)
    assert run["cells"] == 960
    assert "[v1 r1] v1 r1's run failed with exit status 1" in capsys.readouterr().out
    broken = stand_in_tree(tmp_path / "broken", cells=123, fail=True)
    with pytest.raises(CompareError, match="^v1 r2 try 2's run failed"):
        run_side_attempts("v1 r2", sys.executable, broken, [], 20.0, tmp_path, attempts=2, pause_s=0.0)
