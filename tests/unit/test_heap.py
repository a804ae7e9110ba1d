"""heap.settle: what exists at start leaves the collector's sight; young collections are rarer;
big allocations go back to the system when freed."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from cityfed import heap


def test_settle_freezes_the_start_up_heap_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


_BURST = """
import sys
from cityfed import heap

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024

if sys.argv[1] == "settled":
    heap.settle()
base = rss_mib()
first = bytes(4 << 20)  # glibc raises its mmap threshold after this is freed...
del first
bodies, kept = [], []
for _ in range(300):  # ...so, left alone, these 1 MiB bodies land in the heap,
    bodies.append(b"x" * (1 << 20))
    kept.append(bytearray(2000))  # between small allocations that outlive them
peak = rss_mib()
del bodies
print(peak - base, rss_mib() - base)
"""


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() or heap._libc() is None,
    reason="glibc's allocator, RSS read from /proc",
)
def test_memory_comes_back_after_a_burst_of_big_bodies() -> None:
    """Issue 14 item 8: RSS went from 125 to 726 MiB after a burst of 1 MiB bodies and stayed."""

    def burst(mode: str) -> tuple[int, int]:
        out = subprocess.run(
            [sys.executable, "-c", _BURST, mode], capture_output=True, text=True, check=True
        )
        grew, left = out.stdout.split()
        return int(grew), int(left)

    grew, left = burst("plain")
    assert grew >= 250 and left >= 250  # the failure, as glibc behaves without the setting
    grew, left = burst("settled")
    assert grew >= 250 and left < 30
