"""The README's quick start on its own database: `make run` seeds and serves on SQLite, Celery eager.

The suite runs on PostgreSQL; SQLite is what a first look runs on. SQL that only PostgreSQL
speaks (a consolidation's arrays, grouping sets and hashes) broke `make run` once, unseen by a
suite on PostgreSQL: here the quick start's steps run in processes of their own on a fresh
SQLite file, as `make run` does (`manage.py migrate`, `manage.py seed_demo`), and then a first
look through the pages (tests/helpers/quick_start_walk.py): pages reached, a comment written, the
closed round consolidated again, its reports made.
"""

import os
import subprocess
import sys

from django.conf import settings


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_make_run_seeds_and_serves_the_demo_on_sqlite(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CELERY_", "CACHE_", "DJANGO_", "PYTEST_", "REDIS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    _run(["manage.py", "migrate", "--noinput", "--verbosity", "0"], env)
    seeded = _run(["manage.py", "seed_demo"], env)
    assert "Demo consultation 'adm-2030' seeded" in seeded
    walked = _run(["manage.py", "shell", "-c", "from tests.helpers.quick_start_walk import main; main()"], env)
    problems = [line for line in walked.splitlines() if line.startswith("PROBLEM")]
    assert problems == [] and walked.rstrip().endswith("walked"), walked[-3000:]
