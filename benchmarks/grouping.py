"""Benchmark of consolidation.grouping against the pairwise grouping it replaces (issue 10).

`bench_grouping(size)` groups `size` generated comments on one section (planted near-duplicates
and unrelated texts) with LSH and with every pair compared, and returns both medians in seconds
with their ratio; it is wired into `make bench` by benchmarks/__main__.py.
"""

from __future__ import annotations

import statistics
import time

from consolidation import grouping
from tests.consolidation.near_duplicates import generated_items, pairwise_pairs

THRESHOLD = 85.0
REPEAT = 3


def _median(fn) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_grouping(size: int) -> dict:
    items = generated_items(seed=size, sections=1, per_section=size, originals=max(1, size // 10), copies=5)
    seconds = _median(lambda: grouping.group_items(items, threshold=THRESHOLD))
    reference = _median(lambda: pairwise_pairs(items, threshold=THRESHOLD))
    return {"size": size, "seconds": seconds, "reference_seconds": reference, "ratio": seconds / reference}
