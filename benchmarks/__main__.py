"""Scaling benchmarks for the pages and the beat task.

Each benchmark measures the same operation at a small and a large data size in one run and
reports the ratio of the medians, next to its target. A page whose query count stays fixed
should grow roughly with the HTML it renders, not with the number of queries.

Run with `make bench` (uses PostgreSQL when it answers, like the test suite).
"""

import logging
import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from consultations.services import rounds_advance  # noqa: E402
from tests import factories  # noqa: E402

REPEAT = 7


def _median_seconds(fn) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _version_with(sections: int):
    user = factories.UserFactory()
    version = factories.DraftVersionFactory(number="0.1")
    factories.ParticipationFactory(consultation=version.consultation, user=user)
    for i in range(sections):
        factories.SectionFactory(version=version, position=i + 1, key=f"k{i}", number=f"1.{i}")
    return user, version


def bench_version_page():
    results = {}
    for size in (10, 500):
        user, version = _version_with(size)
        client = Client()
        client.force_login(user)
        url = reverse("consultations:version", args=[version.consultation.slug, version.number])
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        query_count = len(queries)
        results[size] = (_median_seconds(lambda c=client, u=url: c.get(u)), query_count)
    ratio = results[500][0] / results[10][0]
    same_queries = results[10][1] == results[500][1]
    print(f"     version page queries: {results[10][1]} at 10 sections, {results[500][1]} at 500")
    return "version page 500 vs 10 sections (50x the text)", ratio, 50.0, same_queries


def bench_rounds_advance():
    results = {}
    for size in (10, 300):
        past = timezone.now() - timezone.timedelta(minutes=1)
        for _ in range(size):
            factories.EngagementRoundFactory(
                state="scheduled", opens_at=past, closes_at=past + timezone.timedelta(days=3)
            )
        start = time.perf_counter()
        rounds_advance()
        results[size] = time.perf_counter() - start
    ratio = results[300] / results[10]
    return "rounds_advance 300 vs 10 due rounds (time, 30x the work)", ratio, 60.0, True


def main() -> int:
    logging.disable(logging.INFO)
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    failed = False
    try:
        print(f"database: {connection.vendor}; median of {REPEAT} runs; ratios measured in this run")
        for bench in (bench_version_page, bench_rounds_advance):
            name, ratio, target, extra_ok = bench()
            ok = ratio <= target and extra_ok
            failed |= not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: ratio {ratio:.1f} (target <= {target:.0f})")
    finally:
        teardown_databases(old, verbosity=0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
