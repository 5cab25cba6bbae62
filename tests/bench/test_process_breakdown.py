"""`bench/scale.py --by-process`: processes labelled by the title Thespian gives them, summed per class."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.process_breakdown import MAIN_LABEL, UNNAMED, Row, breakdown, cpu_seconds, label, pss_kib, report
from tests.support import wait_for

TITLED = (
    "import sys, setproctitle\n"
    "setproctitle.setproctitle('StringMaster ActorAddr-(T|:4711)')\n"
    "print('titled', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_an_actor_process_is_labelled_by_its_class_and_a_plain_fork_as_unnamed():
    pytest.importorskip("setproctitle")
    env = {**os.environ, "SPT_NOENV": "1", "MARKED": "yes"}  # as the gateway sets it: environ kept
    child = subprocess.Popen(
        [sys.executable, "-c", TITLED], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline() == "titled\n"
        assert wait_for(lambda: label(child.pid, main_pid=0) == "StringMaster", what="the child's title")
        with open(f"/proc/{child.pid}/environ", "rb") as f:
            assert b"MARKED=yes" in f.read()
        assert label(child.pid, main_pid=child.pid) == MAIN_LABEL
        assert label(os.getpid(), main_pid=0) == UNNAMED  # pytest keeps python's command line
        assert cpu_seconds(child.pid) is not None and pss_kib(child.pid) > 0
    finally:
        child.stdin.close()
        child.wait(10)
    assert cpu_seconds(child.pid) is None and pss_kib(child.pid) == 0 and label(child.pid, 0) == "gone"


def test_cpu_and_pss_are_summed_per_class_and_a_process_born_in_the_window_counts_from_zero():
    labels = {1: "StringMaster", 2: "StringMaster", 3: "Ups"}
    rows = breakdown({1: 10.0, 2: 20.0}, {1: 12.0, 2: 21.0, 3: 0.5}, {1: 100, 2: 200, 3: 50}, labels)
    by_label = {r.label: r for r in rows}
    assert by_label["StringMaster"] == Row("StringMaster", processes=2, cpu_s=3.0, pss_kib=300)
    assert by_label["Ups"] == Row("Ups", processes=1, cpu_s=0.5, pss_kib=50)
    lines = report(rows, elapsed_s=10.0)
    assert lines[2].split()[:3] == ["StringMaster", "2", "0.3000"]  # largest CPU first, in s/s
