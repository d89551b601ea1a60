"""Progress of a long document in steps a person can see: the writers call back as they go.

A writer calls `step(done, total)` as it works (after each section, or as reportlab lays out
its flowables); `stepped` turns that into the report's progress between `start` and `end`
percent, written (one UPDATE through config.jobs) only when it has moved by a visible step, so
a report of any size writes its progress at most about PROGRESS_STEPS times.
"""

from __future__ import annotations

from collections.abc import Callable

from config import jobs

from ..models import Report

PROGRESS_STEPS = 20


def stepped(report_id: int, attempt: int, *, start: int = 5, end: int = 95) -> Callable[[int, int], None]:
    written = {"percent": start}
    least = max((end - start) // PROGRESS_STEPS, 1)

    def step(done: int, total: int) -> None:
        percent = start + (end - start) * min(done, total) // max(total, 1)
        if percent - written["percent"] >= least:
            written["percent"] = percent
            jobs.renew(Report, report_id, attempt, progress=percent)

    return step
