"""The resolution matrix exports against the machine's own limits (issue 10, lines 6 and 7).

- bench_csv(rows): the CSV export (the Report job, file to storage) against PostgreSQL's COPY of
  the same SELECT (the raw values the Python path reads) to a null sink: what the database
  alone needs to hand the rows over.
- bench_xlsx(rows): the XLSX export against openpyxl's write-only workbook and XlsxWriter's
  constant_memory writing the same cells from memory, without a database.
- Times are the best of REPEATS runs, the export and its reference taking turns: the machine is
  shared, and the best run is the one least disturbed by others.
- Memory, at two sizes (`rows` and `rows // 10`, at least 100), so that flatness shows:
  rss_mb is the real growth of a process's resident memory during one export (peak RSS, VmHWM,
  reset through /proc/self/clear_refs just before, minus the RSS just before), measured in a
  fresh process that does nothing but that export, so that memory freed by earlier work cannot
  hide growth; tracemalloc_mb is the peak of Python's own allocations in the same run.
  peak_mb, the figure held to the target, is the larger RSS growth of the two sizes.

`bench()` prints them as ratios next to their targets (`python -m benchmarks.exports`, size from
BENCH_EXPORT_ROWS, 100,000 by default); `make bench` (benchmarks/__main__.py) runs them as
lines 6 and 7 on its own database.
"""

from __future__ import annotations

import json
import os
import subprocess
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
# Targets (issue 10): the export's time over its reference's, and its memory growth in MB. The XLSX
# references write from memory, without a database: the export's share of reading the rows is
# inside its ratio. Memory is "flat" when the growth at the larger size is within 20% of the
# smaller size's (or within FLAT_SLACK_MB of it, below which the kernel's page granularity and the
# allocator's arenas decide, not the rows).
CSV_TARGET = 2.0
CSV_PEAK_MB_TARGET = 50.0
XLSX_TARGET = 1.3
PEAK_MB_TARGET = 200.0
FLAT_WITHIN = 0.20
FLAT_SLACK_MB = 2.0
REPEATS = int(os.environ.get("BENCH_EXPORT_REPEATS", "3"))


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
    from django.utils import timezone

    from comments.models import Comment
    from consolidation.models import Disposition
    from consultations.models import EngagementRound
    from tests import factories

    from . import data

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
    now = timezone.now()

    def row(i: int) -> dict:
        return {
            "round_id": engagement_round.pk,
            "section_id": sections[i % 20].pk,
            "author_id": authors[i % 11].pk,
            "organisation_id": states[i % 11].pk,
            "type": ("ge", "te", "ed")[i % 3],
            "body": " ".join(words[(i + k) % 10] for k in range(24))
            + f" point {i}"
            + (" — mục tiêu năng lượng" if i % 7 == 0 else ""),
            "proposed_change": "=add a target" if i % 13 == 0 else "Add: " + words[i % 10],
            "quote_exact": "Text Text" if i % 2 else "",
            "status": Comment.Status.SUBMITTED,
            "is_endorsed": i % 4 == 0,
            "created_at": now,
            "updated_at": now,
        }

    # By COPY, 100,000 rows a statement (the ORM's bulk_create, 5,000 rows a statement, took
    # tens of seconds a statement in the bench's session once the table held a million rows).
    batch = 100_000
    for start in range(0, rows, batch):
        data.copy_comments([row(i) for i in range(start, min(rows, start + batch))])
    # A third decided: every third comment of the round, in id order (as the rows were written).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Disposition._meta.db_table} (comment_id, decision, response, proposed_decision, "
            "proposed_response, revision, updated_at) "
            "SELECT id, 'accepted', 'Done in the next version.', '', '', 1, now() FROM ("
            f"SELECT id, row_number() OVER (ORDER BY id) AS n FROM {Comment._meta.db_table} WHERE round_id = %s"
            ") AS numbered WHERE n %% 3 = 1",
            [engagement_round.pk],
        )
        # Statistics of the rows just loaded, as autovacuum would take them after a load (and as
        # benchmarks.data does): without them the planner estimated one row for the round and
        # nested-looped both the export and COPY's reference (31 s and 13 s at a million rows
        # instead of 14 s and 8 s).
        cursor.execute(f"ANALYZE {Comment._meta.db_table}, {Disposition._meta.db_table}")
    _made[rows] = (secretariat, engagement_round)
    return _made[rows]


def _new_report(user, engagement_round, fmt: str):
    from consolidation.models import Report

    return Report.objects.create(
        consultation=engagement_round.consultation,
        round=engagement_round,
        kind=Report.Kind.RESOLUTION_MATRIX,
        format=fmt,
        requested_by=user,
    )


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _generate(report_id: int, *, traced: bool = False) -> dict:
    """One Report job making the matrix: its seconds, and with `traced` its memory (RSS growth and tracemalloc)."""
    from consolidation.models import Report
    from consolidation.services.exports import report_generate

    rss_before = 0
    if traced:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # peak RSS (VmHWM) back to the current RSS
        rss_before = _status_kb("VmRSS")
        tracemalloc.start()
    start = time.perf_counter()
    report_generate(report_id=report_id)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds}
    if traced:
        result["tracemalloc_mb"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
        result["rss_mb"] = (_status_kb("VmHWM") - rss_before) / 1024
    report = Report.objects.get(pk=report_id)
    assert report.status == "done", report.error
    report.file.delete(save=False)
    return result


def _export(user, engagement_round, fmt: str) -> float:
    """Seconds of one Report job making the matrix."""
    return _generate(_new_report(user, engagement_round, fmt).pk)["seconds"]


def _memory(user, engagement_round, fmt: str) -> dict:
    """RSS growth and tracemalloc peak (MB) of one export, in a fresh process when the bench's own database allows."""
    report = _new_report(user, engagement_round, fmt)
    if os.environ.get("DJANGO_SETTINGS_MODULE") == "benchmarks.settings":
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.exports", "--memory-of-report", str(report.pk)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"},
        )
        got = json.loads(done.stdout.strip().splitlines()[-1])
        got["process"] = "fresh"
        return got
    with _media():  # the test database of `python -m benchmarks.exports` lives in this process only
        got = _generate(report.pk, traced=True)
    got["process"] = "this"
    return got


def _memory_of_report(report_id: int) -> dict:
    """In the fresh process: everything the export imports loaded first, then the one traced export."""
    import consolidation.services.exports  # noqa: F401
    from consolidation.models import Report

    connection.ensure_connection()
    Report.objects.filter(pk=report_id).exists()
    with _media():
        return _generate(report_id, traced=True)


def _memory_at_two_sizes(rows: int, fmt: str) -> dict:
    small_rows = max(100, rows // 10)
    small = _memory(*_round_with(small_rows), fmt)
    large = _memory(*_round_with(rows), fmt)
    flat = abs(large["rss_mb"] - small["rss_mb"]) <= max(FLAT_WITHIN * small["rss_mb"], FLAT_SLACK_MB)
    return {
        "peak_mb": max(small["rss_mb"], large["rss_mb"]),
        "memory": {str(small_rows): small, str(rows): large},
        "memory_flat": flat,
        "memory_note": (
            f"RSS growth {small['rss_mb']:.1f} MB at {small_rows:,} rows, {large['rss_mb']:.1f} MB at {rows:,}"
            f" ({'flat' if flat else 'NOT flat'}); Python peak (tracemalloc) {small['tracemalloc_mb']:.1f} /"
            f" {large['tracemalloc_mb']:.1f} MB; {small['process']} process"
        ),
    }


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
    postgres = connection.vendor == "postgresql"
    times, copy_times = [], []
    with _media():
        _export(user, engagement_round, "csv")  # warm: the first run pays for imports and caches
        for _ in range(REPEATS):
            times.append(_export(user, engagement_round, "csv"))
            if postgres:
                copy_times.append(_copy_seconds(user, engagement_round))
    return {
        "seconds": min(times),
        "copy_seconds": min(copy_times) if postgres else float("nan"),
        "runs": {"export": times, "copy": copy_times},
        **_memory_at_two_sizes(rows, "csv"),
    }


def _cells(user, engagement_round) -> list[list[str]]:
    """The matrix's cells in memory, Line number and paragraph included: the libraries write what the export writes."""
    from consolidation import selectors_reports
    from consolidation.documents import matrix

    anchors = selectors_reports.export_anchors(
        consultation=engagement_round.consultation, engagement_round=engagement_round
    )
    return list(matrix.matrix_rows(_matrix_queryset(user, engagement_round).iterator(chunk_size=2000), anchors))


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
    cells = _cells(user, engagement_round)
    times, openpyxl_times, xlsxwriter_times = [], [], []
    with _media():
        _export(user, engagement_round, "xlsx")  # warm
        for _ in range(REPEATS):
            times.append(_export(user, engagement_round, "xlsx"))
            xlsxwriter_times.append(_xlsxwriter_seconds(cells))
            openpyxl_times.append(_openpyxl_seconds(cells))
    del cells
    return {
        "seconds": min(times),
        "openpyxl_seconds": min(openpyxl_times),
        "xlsxwriter_seconds": min(xlsxwriter_times),
        "runs": {"export": times, "openpyxl": openpyxl_times, "xlsxwriter": xlsxwriter_times},
        **_memory_at_two_sizes(rows, "xlsx"),
    }


def bench(rows: int = ROWS) -> bool:
    """Print the export benchmarks as ratios against their references; True when all meet their targets."""
    ok = True
    print(f"matrix exports at {rows:,} comments ({connection.vendor})")
    csv_result = bench_csv(rows)
    if connection.vendor == "postgresql":
        ratio = csv_result["seconds"] / csv_result["copy_seconds"]
        good = ratio <= CSV_TARGET and csv_result["peak_mb"] < CSV_PEAK_MB_TARGET and csv_result["memory_flat"]
        ok &= good
        print(
            f"{'ok  ' if good else 'FAIL'} CSV matrix {csv_result['seconds']:.2f}s"
            f" vs COPY {csv_result['copy_seconds']:.2f}s:"
            f" ratio {ratio:.2f} (target <= {CSV_TARGET:.0f}); {csv_result['memory_note']}"
            f" (target < {CSV_PEAK_MB_TARGET:.0f} MB, flat)"
        )
    else:
        print(f"skip CSV matrix vs COPY: needs PostgreSQL ({csv_result['seconds']:.2f}s)")
    xlsx = bench_xlsx(rows)
    fastest = min(xlsx["openpyxl_seconds"], xlsx["xlsxwriter_seconds"])
    ratio = xlsx["seconds"] / fastest
    good = ratio <= XLSX_TARGET and xlsx["peak_mb"] < PEAK_MB_TARGET
    ok &= good
    print(
        f"{'ok  ' if good else 'FAIL'} XLSX matrix {xlsx['seconds']:.2f}s vs openpyxl write-only"
        f" {xlsx['openpyxl_seconds']:.2f}s / XlsxWriter constant_memory {xlsx['xlsxwriter_seconds']:.2f}s:"
        f" ratio {ratio:.2f} to the faster (target <= {XLSX_TARGET:.1f}); {xlsx['memory_note']}"
        f" (target < {PEAK_MB_TARGET:.0f} MB)"
    )
    return ok


def main() -> int:
    import logging

    if sys.argv[1:2] == ["--memory-of-report"]:  # the fresh process of _memory
        logging.disable(logging.INFO)
        print(json.dumps(_memory_of_report(int(sys.argv[2]))))
        return 0

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
