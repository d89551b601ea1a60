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
import tracemalloc

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


def _round_with_comments(count: int, sections: int = 20):
    """A closed round with `count` submitted comments spread over `sections` sections and 11 states."""
    from comments.models import Comment
    from consultations.models import EngagementRound

    secretariat = factories.UserFactory()
    version = factories.DraftVersionFactory(number="0.1")
    consultation = version.consultation
    org = factories.OrganisationFactory(name=f"Secretariat {count}", kind="secretariat", country_code="")
    factories.ParticipationFactory(consultation=consultation, user=secretariat, organisation=org, role="secretariat")
    section_list = [
        factories.SectionFactory(version=version, position=i + 1, key=f"s{i}", number=f"1.{i}", body="Text " * 40)
        for i in range(sections)
    ]
    states = [factories.OrganisationFactory(name=f"State {count}-{i}", country_code="VN") for i in range(11)]
    authors = [factories.UserFactory(organisation=o) for o in states]
    engagement_round = factories.EngagementRoundFactory(version=version, state=EngagementRound.State.CLOSED)
    words = ["coverage", "rural", "target", "spectrum", "data", "payments", "skills", "security", "trust", "2030"]
    Comment.objects.bulk_create(
        [
            Comment(
                round=engagement_round,
                section=section_list[i % sections],
                author=authors[i % 11],
                organisation=states[i % 11],
                type="te",
                body=" ".join(words[(i + k) % 10] for k in range(12)) + f" point {i}",
                status=Comment.Status.SUBMITTED,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    return secretariat, engagement_round


def bench_consolidation():
    from consolidation.services.aggregation import compute_consolidation

    results = {}
    for size in (200, 2000):
        _user, engagement_round = _round_with_comments(size)
        results[size] = _median_seconds(lambda r=engagement_round: compute_consolidation(engagement_round=r))
    ratio = results[2000] / results[200]
    return "consolidation 2,000 vs 200 comments over 20 sections (time)", ratio, 40.0, True


def bench_export_memory():
    """Peak Python memory while writing the XLSX matrix grows far slower than the rows (streamed)."""
    import tempfile

    from django.test import override_settings

    from consolidation.models import Report
    from consolidation.services.exports import report_generate

    peaks = {}
    with (
        tempfile.TemporaryDirectory() as media,
        override_settings(
            MEDIA_ROOT=media,
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        ),
    ):
        for size in (500, 5000):
            user, engagement_round = _round_with_comments(size)
            report = Report.objects.create(
                consultation=engagement_round.consultation,
                round=engagement_round,
                kind=Report.Kind.RESOLUTION_MATRIX,
                format=Report.Format.XLSX,
                requested_by=user,
            )
            tracemalloc.start()
            report_generate(report_id=report.pk)
            peaks[size] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            report.refresh_from_db()
            assert report.status == "done", report.error
    ratio = peaks[5000] / peaks[500]
    print(f"     XLSX export peak memory: {peaks[500] // 1024} KiB at 500 rows, {peaks[5000] // 1024} KiB at 5,000")
    return "XLSX matrix 5,000 vs 500 rows (peak memory)", ratio, 3.0, True


def main() -> int:
    logging.disable(logging.INFO)
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    failed = False
    try:
        print(f"database: {connection.vendor}; median of {REPEAT} runs; ratios measured in this run")
        for bench in (bench_version_page, bench_rounds_advance, bench_consolidation, bench_export_memory):
            name, ratio, target, extra_ok = bench()
            ok = ratio <= target and extra_ok
            failed |= not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: ratio {ratio:.1f} (target <= {target:.0f})")
    finally:
        teardown_databases(old, verbosity=0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
