"""Keep forked actor processes sharing their parent's memory.

Thespian creates an actor by forking its parent. Python's garbage collector writes into the
header of every object it scans, so the child's first collection copies every inherited page
and the sharing of copy-on-write is lost (each string master then costs several MiB more).
Freezing the parent's objects before the fork keeps the collector off them in the child.
Every forking parent does it: the main program before Thespian forks its admin
(actors/runtime/system.py), the gateway and each UPS before they create a child.
"""

from __future__ import annotations

import gc


def prepare_to_fork() -> None:
    """Call right before createActor: collect garbage, then freeze what survives."""
    gc.collect()
    gc.freeze()
