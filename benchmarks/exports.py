"""The resolution matrix exports against the machine's own limits (issue 10).

- bench_csv(rows): the CSV export (the Report job, file to storage) against PostgreSQL's COPY of
  the same SELECT to a null sink: what the database alone needs to hand the rows over.
- bench_xlsx(rows): the XLSX export against openpyxl's write-only workbook and XlsxWriter's
  constant_memory writing the same cells from memory, without a database.
- peak_mb: tracemalloc's peak of Python memory during the export (a separate run, so the
  timing is not slowed by tracing).

`bench()` prints them as ratios next to their targets; `make bench` runs it after the page
benchmarks (`python -m benchmarks.exports`, size from BENCH_EXPORT_ROWS, 100,000 by default).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
# Targets: the export's time over its reference's, and its peak memory in MB. The XLSX references
# write from memory, without a database: the export's share of reading the rows is inside its ratio.
CSV_TARGET = 4.0
XLSX_TARGET = 2.5
PEAK_MB_TARGET = 200.0


@contextmanager
def _media():
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
        yield


_made: dict[int, tuple] = {}


def _round_with(rows: int):
    """A closed round of `rows` submitted comments over 20 sections and 11 states, a third decided (cached)."""
    if rows in _made:
        return _made[rows]
    from comments.models import Comment
    from consolidation.models import Disposition
    from consultations.models import EngagementRound
    from tests import factories

    secretariat = factories.UserFactory()
    version = factories.DraftVersionFactory(number="0.1")
    org = factories.OrganisationFactory(name=f"Secretariat {rows}", kind="secretariat", country_code="")
    factories.ParticipationFactory(
        consultation=version.consultation, user=secretariat, organisation=org, role="secretariat"
    )
    sections = [
        factories.SectionFactory(version=version, position=i + 1, key=f"s{i}", number=f"1.{i}", body="Text " * 40)
        for i in range(20)
    ]
    states = [factories.OrganisationFactory(name=f"State {rows}-{i}", country_code="VN") for i in range(11)]
    authors = [factories.UserFactory(organisation=o) for o in states]
    engagement_round = factories.EngagementRoundFactory(version=version, state=EngagementRound.State.CLOSED)
    words = ["coverage", "rural", "target", "spectrum", "data", "payments", "skills", "security", "trust", "2030"]
    batch = 5000
    for start in range(0, rows, batch):
        made = Comment.objects.bulk_create(
            [
                Comment(
                    round=engagement_round,
                    section=sections[i % 20],
                    author=authors[i % 11],
                    organisation=states[i % 11],
                    type=("ge", "te", "ed")[i % 3],
                    body=" ".join(words[(i + k) % 10] for k in range(24))
                    + f" point {i}"
                    + (" — mục tiêu năng lượng" if i % 7 == 0 else ""),
                    proposed_change="=add a target" if i % 13 == 0 else "Add: " + words[i % 10],
                    quote_exact="Text Text" if i % 2 else "",
                    status=Comment.Status.SUBMITTED,
                    is_endorsed=i % 4 == 0,
                )
                for i in range(start, min(rows, start + batch))
            ]
        )
        Disposition.objects.bulk_create(
            [Disposition(comment=c, decision="accepted", response="Done in the next version.") for c in made[::3]]
        )
    _made[rows] = (secretariat, engagement_round)
    return _made[rows]


def _export(user, engagement_round, fmt: str, *, traced: bool = False) -> tuple[float, float]:
    """(seconds, peak MB) of one Report job making the matrix."""
    from consolidation.models import Report
    from consolidation.services.exports import report_generate

    report = Report.objects.create(
        consultation=engagement_round.consultation,
        round=engagement_round,
        kind=Report.Kind.RESOLUTION_MATRIX,
        format=fmt,
        requested_by=user,
    )
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    report_generate(report_id=report.pk)
    seconds = time.perf_counter() - start
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    report.refresh_from_db()
    assert report.status == "done", report.error
    report.file.delete(save=False)
    return seconds, peak


def _matrix_queryset(user, engagement_round):
    from consolidation import selectors_reports
    from consolidation.documents import matrix

    qs = selectors_reports.exported_comments(
        user=user, consultation=engagement_round.consultation, engagement_round=engagement_round
    )
    return qs.values_list(*matrix.FIELDS)


def _copy_seconds(user, engagement_round) -> float:
    """PostgreSQL COPY (the export's SELECT) TO STDOUT, read into nothing."""
    import psycopg

    sql, params = _matrix_queryset(user, engagement_round).query.sql_with_params()
    connection.ensure_connection()
    raw = connection.connection
    statement = psycopg.ClientCursor(raw).mogrify(sql, params)
    start = time.perf_counter()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)") as copy:
        for _block in copy:
            pass
    return time.perf_counter() - start


def bench_csv(rows: int = ROWS) -> dict:
    user, engagement_round = _round_with(rows)
    with _media():
        seconds, _ = _export(user, engagement_round, "csv")
        _, peak = _export(user, engagement_round, "csv", traced=True)
    copy_seconds = _copy_seconds(user, engagement_round) if connection.vendor == "postgresql" else float("nan")
    return {"seconds": seconds, "copy_seconds": copy_seconds, "peak_mb": peak}


def _cells(user, engagement_round) -> list[list[str]]:
    from consolidation.documents import matrix

    return list(matrix.matrix_rows(_matrix_queryset(user, engagement_round).iterator(chunk_size=2000)))


def _openpyxl_seconds(cells: list[list[str]]) -> float:
    from openpyxl import Workbook

    from consolidation.template_columns import HEADERS

    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Comments")
        sheet.append(HEADERS)
        for row in cells:
            sheet.append(row)
        workbook.save(os.path.join(workdir, "openpyxl.xlsx"))
        return time.perf_counter() - start


def _xlsxwriter_seconds(cells: list[list[str]]) -> float:
    import xlsxwriter

    from consolidation.template_columns import HEADERS

    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        workbook = xlsxwriter.Workbook(os.path.join(workdir, "xlsxwriter.xlsx"), {"constant_memory": True})
        sheet = workbook.add_worksheet("Comments")
        sheet.write_row(0, 0, HEADERS)
        for number, row in enumerate(cells, start=1):
            for index, value in enumerate(row):
                if value:
                    sheet.write_string(number, index, value)
        workbook.close()
        return time.perf_counter() - start


def bench_xlsx(rows: int = ROWS) -> dict:
    user, engagement_round = _round_with(rows)
    with _media():
        seconds, _ = _export(user, engagement_round, "xlsx")
        _, peak = _export(user, engagement_round, "xlsx", traced=True)
    cells = _cells(user, engagement_round)
    openpyxl_seconds = _openpyxl_seconds(cells)
    xlsxwriter_seconds = _xlsxwriter_seconds(cells)
    return {
        "seconds": seconds,
        "openpyxl_seconds": openpyxl_seconds,
        "xlsxwriter_seconds": xlsxwriter_seconds,
        "peak_mb": peak,
    }


def bench(rows: int = ROWS) -> bool:
    """Print the export benchmarks as ratios against their references; True when all meet their targets."""
    ok = True
    print(f"matrix exports at {rows:,} comments ({connection.vendor})")
    csv_result = bench_csv(rows)
    if connection.vendor == "postgresql":
        ratio = csv_result["seconds"] / csv_result["copy_seconds"]
        good = ratio <= CSV_TARGET and csv_result["peak_mb"] <= PEAK_MB_TARGET
        ok &= good
        print(
            f"{'ok  ' if good else 'FAIL'} CSV matrix {csv_result['seconds']:.2f}s"
            f" vs COPY {csv_result['copy_seconds']:.2f}s:"
            f" ratio {ratio:.1f} (target <= {CSV_TARGET:.0f}), peak {csv_result['peak_mb']:.1f} MB"
            f" (target <= {PEAK_MB_TARGET:.0f})"
        )
    else:
        print(f"skip CSV matrix vs COPY: needs PostgreSQL ({csv_result['seconds']:.2f}s)")
    xlsx = bench_xlsx(rows)
    fastest = min(xlsx["openpyxl_seconds"], xlsx["xlsxwriter_seconds"])
    ratio = xlsx["seconds"] / fastest
    good = ratio <= XLSX_TARGET and xlsx["peak_mb"] <= PEAK_MB_TARGET
    ok &= good
    print(
        f"{'ok  ' if good else 'FAIL'} XLSX matrix {xlsx['seconds']:.2f}s vs openpyxl write-only"
        f" {xlsx['openpyxl_seconds']:.2f}s / XlsxWriter constant_memory {xlsx['xlsxwriter_seconds']:.2f}s:"
        f" ratio {ratio:.1f} to the faster (target <= {XLSX_TARGET:.1f}), peak {xlsx['peak_mb']:.1f} MB"
        f" (target <= {PEAK_MB_TARGET:.0f})"
    )
    return ok


def main() -> int:
    import logging

    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    logging.disable(logging.INFO)
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        ok = bench()
    finally:
        teardown_databases(old, verbosity=0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
