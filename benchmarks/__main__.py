"""`make bench [SIZE=100000]`: the scale benchmark of issue 10 (docs/performance.md).

Creates a dedicated PostgreSQL database (BENCH_DATABASE_URL, default bench_consultation), fills
it with SIZE comments over 200 sections and 40 organisations by COPY (benchmarks.data), runs
each line (benchmarks.lines), prints the table and writes bench/results.json. Every figure is a
ratio against a reference measured in the same run. A line whose feature is not built yet is
reported as such. The database is dropped at the end (BENCH_KEEP=1 keeps it).

Options: --size N (default $SIZE or 100000), --load-seconds S (line 8, default 30; 0 skips it),
--only 1,4,... (run some lines), --keep.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks import data, lines  # noqa: E402
from benchmarks.lines import NOT_BUILT, Line, compared, not_built  # noqa: E402


def machine() -> dict:
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            memory = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": postgres,
        "platform": platform.platform(),
        "commit": commit,
    }


def _helper_line(number: str, name: str, target: str, run: Callable[[], object]) -> list[Line]:
    """Lines 6, 7 and the grouping line come from benchmarks.exports / benchmarks.grouping when present.

    Their functions return a Line, a list of Lines, or dicts with the Line fields."""
    try:
        result = run()
    except ImportError:
        return [not_built(f"{number}. {name}", target)]
    items = result if isinstance(result, list) else [result]
    return [item if isinstance(item, Line) else Line(**item) for item in items]  # type: ignore[arg-type]


def line_csv(built: data.Built) -> list[Line]:
    """Line 6 with the issue's target: at least half of COPY's throughput (time at most 2x), peak < 50 MB."""

    def run() -> object:
        from benchmarks.exports import bench_csv

        got = bench_csv(built.counts["main"])
        return compared(
            "6. CSV export vs COPY of the same SELECT",
            got["seconds"],
            got["copy_seconds"],
            2,
            holds=got["peak_mb"] < 50 and got["memory_flat"],
            target="<= 2x COPY's time (>= 0.5 of its throughput); memory growth < 50 MB, flat at 2 sizes",
            note=got["memory_note"],
            details=got,
        )

    return _helper_line("6", "CSV export vs COPY of the same SELECT", ">= 0.5 of COPY; memory < 50 MB, flat", run)


def line_xlsx(built: data.Built) -> list[Line]:
    """Line 7 with the issue's target: at most 1.3x the faster library writing the same rows; < 200 MB."""

    def run() -> object:
        from benchmarks.exports import bench_xlsx

        got = bench_xlsx(built.counts["main"])
        fastest = min(got["openpyxl_seconds"], got["xlsxwriter_seconds"])
        return compared(
            "7. XLSX vs the faster of openpyxl write-only / XlsxWriter constant_memory",
            got["seconds"],
            fastest,
            1.3,
            holds=got["peak_mb"] < 200,
            target="<= 1.3x; memory growth < 200 MB",
            note=got["memory_note"] + "; the libraries write from memory, the export reads the database",
            details=got,
        )

    return _helper_line("7", "XLSX vs fastest library, same rows", "<= 1.3x; memory < 200 MB", run)


GROUPING_SECTION = 2_000  # comments in one section: the pairwise reference is quadratic beyond this


def line_grouping(built: data.Built) -> list[Line]:
    """Near-duplicate grouping of one section against today's pairwise comparison of the same texts."""

    def run() -> object:
        from benchmarks.grouping import bench_grouping

        got = bench_grouping(GROUPING_SECTION)
        return compared(
            f"1b. near-duplicate grouping, one section of {GROUPING_SECTION:,} comments vs pairwise",
            got["seconds"],
            got["reference_seconds"],
            1,
            target="no slower than pairwise (<= 1x); the whole consolidation at 1M (< 5 min) is line 2's figure",
            details=got,
        )

    return _helper_line("1b", "near-duplicate grouping", "close to linear; whole consolidation at 1M < 5 min", run)


def line_workers(built: data.Built) -> Line:
    from benchmarks.consolidation import line_workers as measure

    return measure(built)


def line_incremental(built: data.Built) -> Line:
    from benchmarks.consolidation import line_incremental as measure

    return measure(built)


def _result(line: Line) -> str:
    return line.status if line.status != "measured" else ("pass" if line.passed else "FAIL")


def table(rows: list[Line]) -> str:
    def num(value: float | None, unit: str = "") -> str:
        if value is None:
            return "-"
        return (
            f"{value:,.3f}{(' ' + unit) if unit else ''}"
            if value < 100
            else f"{value:,.0f}{(' ' + unit) if unit else ''}"
        )

    header = ["line", "figure", "reference", "ratio", "target", "result"]
    body = []
    for r in rows:
        result = _result(r)
        body.append(
            [
                r.name,
                num(r.figure, r.unit),
                num(r.reference, r.unit),
                "-" if r.ratio is None else f"{r.ratio:,.2f}x",
                r.target,
                result,
            ]
        )
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in body]
    notes = [f"- {r.name.split('.')[0]}: {r.note}" for r in rows if r.note]
    return "\n".join(out) + ("\n\n" + "\n".join(notes) if notes else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=int(os.environ.get("SIZE") or 100_000))
    parser.add_argument("--load-seconds", type=float, default=float(os.environ.get("BENCH_LOAD_SECONDS") or 30))
    parser.add_argument("--only", default="", help="comma-separated line numbers, e.g. 1,4,9")
    parser.add_argument("--keep", action="store_true", default=bool(os.environ.get("BENCH_KEEP")))
    parser.add_argument("--output", default="bench/results.json")
    args = parser.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    logging.disable(logging.WARNING)

    name = data.recreate_database()
    print(f"database {name}: generating {args.size:,} comments ...", flush=True)
    built = data.build(data.Scenario(size=args.size))
    print(f"generated in {built.seconds:.1f} s: {built.counts}", flush=True)
    info = machine()

    steps: list[tuple[str, Callable[[], Line | list[Line]]]] = [
        ("1", lambda: lines.line_consolidation_counts(built)),
        ("1b", lambda: line_grouping(built)),
        ("2", lambda: line_workers(built)),
        ("3", lambda: line_incremental(built)),
        ("4", lambda: lines.line_section_page(built)),
        ("5", lambda: lines.line_feedback(built)),
        ("6", lambda: line_csv(built)),
        ("7", lambda: line_xlsx(built)),
        ("8", lambda: _load(built, args.load_seconds)),
        ("9", lambda: lines.line_carry_over(built)),
    ]
    results: list[Line] = []
    try:
        for number, step in steps:
            if only and number not in only and number.rstrip("b") not in only:
                continue
            start = time.perf_counter()
            try:
                produced = step()
            except Exception as exc:  # a broken line is reported, the others still run
                traceback.print_exc()
                produced = Line(name=f"{number}. (failed)", status="error", note=f"{type(exc).__name__}: {exc}")
            for line in produced if isinstance(produced, list) else [produced]:
                results.append(line)
                print(
                    f"  {line.name}: {_result(line)} ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    finally:
        connection.close()
        if not args.keep:
            data.drop_database()

    print()
    print(table(results))
    output = Path(settings.BASE_DIR) / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": args.size,
        "generated": {"counts": built.counts, "seconds": built.seconds},
        "machine": info,
        "lines": [{**line.as_dict(), "size": args.size, "machine": info} for line in results],
    }
    output.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nwritten {output}")
    measured = [line for line in results if line.status != NOT_BUILT]
    return 0 if all(line.passed for line in measured) else 1


def _load(built: data.Built, seconds: float) -> Line:
    if seconds <= 0:
        return not_built(
            "8. comment POST, 50 clients, p95 vs trivial view", "0 errors, <= 3x", "skipped (--load-seconds 0)"
        )
    from benchmarks.load import line_comment_post

    return line_comment_post(built, seconds)


if __name__ == "__main__":
    sys.exit(main())
