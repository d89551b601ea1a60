"""`make bench` is a command, not a test: the suite runs it once at a tiny size, every line, to
prove that each one measures and checks what it says (issue 10). Never a time: at this size the
ratios mean nothing, so the exit status 1 of a line missing its target is expected; what is
asserted is that every line ran against its reference, and the checks of sameness held.

It runs as `make bench` does, in a process of its own, on a database of its own (created,
migrated, filled and dropped by the bench), with its own Celery workers and gunicorn. The
Redis databases are its own too: the bench flushes its broker's, which by default is the
suite's (15).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = 1000
TIMEOUT = 600


def test_every_line_of_the_bench_measures_against_its_reference_at_a_tiny_size(tmp_path):
    output = tmp_path / "results.json"
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/bench_suite_{os.getpid()}",
        "BENCH_REDIS_URL": "redis://127.0.0.1:6379/14",
        "BENCH_CACHE_URL": "redis://127.0.0.1:6379/13",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the bench sets its own
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", str(SIZE), "--load-seconds", "2", "--output", str(output)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    lines = {line["name"].split(".", 1)[0]: line for line in results["lines"]}

    assert results["size"] == SIZE
    assert set(lines) == {"1", "1b", "2", "3", "4a", "4b", "4c", "5a", "5b", "6", "7", "8", "9", "9b"}
    for number, line in lines.items():
        assert line["status"] == "measured", (number, line["note"])
        assert math.isfinite(line["figure"]) and line["figure"] > 0, number
        assert math.isfinite(line["reference"]) and line["reference"] > 0, number
        assert line["ratio"] == pytest.approx(line["figure"] / line["reference"]), number
    # Two worker processes made the snapshot one process made; the incremental run was
    # incremental and its snapshot is the full run's.
    assert "SNAPSHOTS DIFFER" not in lines["2"]["note"] and "NOT FULL" not in lines["2"]["note"]
    assert lines["3"]["details"]["same"] is True
    assert "NOT INCREMENTAL" not in lines["3"]["note"]
    # The load test's POSTs were written, none refused.
    posts = lines["8"]["details"]["posts"]
    assert posts["requests"] > 0 and posts["errors"] == 0
