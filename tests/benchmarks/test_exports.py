"""Lines 6 and 7 of the benchmark run at a tiny size (no timing asserted): each export against its
references, and memory measured at two sizes so that flatness can be read."""

import pytest
from django.db import connections

pytestmark = [pytest.mark.postgres]


def test_the_export_lines_measure_their_references_and_memory_at_two_sizes(db, monkeypatch):
    from benchmarks import exports as bench

    monkeypatch.setattr(bench, "REPEATS", 1)
    monkeypatch.setattr(bench, "_made", {})

    as_csv = bench.bench_csv(300)
    as_xlsx = bench.bench_xlsx(300)

    assert as_csv["seconds"] > 0 and as_csv["copy_seconds"] > 0
    assert as_xlsx["seconds"] > 0 and as_xlsx["xlsxwriter_seconds"] > 0 and as_xlsx["openpyxl_seconds"] > 0
    for got in (as_csv, as_xlsx):
        assert set(got["memory"]) == {"100", "300"}  # rows // 10, at least 100, and rows
        for size in got["memory"].values():
            assert size["rss_mb"] >= 0 and size["tracemalloc_mb"] > 0
        assert got["peak_mb"] == max(size["rss_mb"] for size in got["memory"].values())
        assert isinstance(got["memory_flat"], bool)
        assert "RSS growth" in got["memory_note"]

    # The rounds were written by COPY inside this test's transaction: another session sees none of
    # them, so nothing is left behind for the next test on this database (a commit here once was).
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM comments_comment")
            assert cursor.fetchone() == (0,)
    finally:
        other.close()
