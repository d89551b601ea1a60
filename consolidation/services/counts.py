"""The comment counts table (CommentCount): compare it with the comments, rebuild it.

PostgreSQL triggers keep consolidation_commentcount (migration 0005_comment_counts); nothing in
the application writes it. What can still make it drift is something that bypasses triggers:
TRUNCATE of the comments alone, `session_replication_role = replica` (the audit-aware flush), a
restore of one table. `count_drift` finds the cells that differ from a GROUP BY of the comments
(one statement, one snapshot: exact even while people write); `rebuild_counts` recomputes them
with the comment and disposition tables locked against writes for the moment it takes.
`manage.py comment_counts` runs both; beat runs `consolidation.tasks.check_comment_counts` daily.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from comments.models import Comment

from ..models import CommentCount, Disposition

logger = logging.getLogger(__name__)

KEY = ("round_id", "section_id", "organisation_id", "status", "type", "is_hidden", "disposition")


@dataclass(frozen=True)
class Drift:
    """One cell where the table and the comments disagree."""

    round_id: int
    section_id: int
    organisation_id: int
    status: str
    type: str
    is_hidden: bool
    disposition: str
    kept: int
    actual: int


def maintained() -> bool:
    """Whether the triggers exist here (PostgreSQL); on SQLite the pages count comments instead."""
    return connection.vendor == "postgresql"


def _truth_sql(round_filter: str) -> str:
    comment, disposition = Comment._meta.db_table, Disposition._meta.db_table
    return f"""
        SELECT c.round_id, c.section_id, c.organisation_id, c.status, c.type, c.is_hidden,
               comment_count_state(d.decision, d.proposed_decision) AS disposition, count(*) AS n
        FROM {comment} c LEFT JOIN {disposition} d ON d.comment_id = c.id
        WHERE {round_filter.format(t="c")}
        GROUP BY 1, 2, 3, 4, 5, 6, 7
    """


def _round_filter(round_ids: Iterable[int] | None) -> tuple[str, list]:
    if round_ids is None:
        return "TRUE", []
    return "{t}.round_id = ANY(%s)", [list(round_ids)]


def count_drift(*, round_ids: Iterable[int] | None = None) -> list[Drift]:
    """The cells where CommentCount differs from a GROUP BY of the comments (empty: in step)."""
    if not maintained():
        return []
    where, params = _round_filter(round_ids)
    key = ", ".join(KEY)
    sql = f"""
        WITH actual AS ({_truth_sql(where)}),
             kept AS (SELECT {key}, sum(n) AS n FROM {CommentCount._meta.db_table} k
                      WHERE {where.format(t="k")} GROUP BY {key})
        SELECT {key}, COALESCE(kept.n, 0), COALESCE(actual.n, 0)
        FROM actual FULL OUTER JOIN kept USING ({key})
        WHERE COALESCE(kept.n, 0) <> COALESCE(actual.n, 0)
        ORDER BY {key}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params * 2)
        return [Drift(*row) for row in cursor.fetchall()]


def rebuild_counts(*, round_ids: Iterable[int] | None = None) -> int:
    """Recompute the counts (of some rounds, else all) from the comments; returns the cells written.

    Writers of comments and dispositions wait while it runs (SHARE lock: reads go on)."""
    if not maintained():
        return 0
    where, params = _round_filter(round_ids)
    table = CommentCount._meta.db_table
    key = ", ".join(KEY)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Comment._meta.db_table}, {Disposition._meta.db_table} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {table} k WHERE {where.format(t='k')}", params)
        cursor.execute(f"INSERT INTO {table} ({key}, n) {_truth_sql(where)}", params)
        written = cursor.rowcount
    logger.info("comment counts rebuilt: %s cells", written)
    return written


def check_and_repair() -> dict[str, int]:
    """Beat's daily check: rebuild the rounds whose counts drifted, and say so in the log."""
    drift = count_drift()
    rounds = sorted({d.round_id for d in drift})
    if rounds:
        logger.error("comment counts drifted in rounds %s (%s cells); rebuilding them", rounds, len(drift))
        rebuild_counts(round_ids=rounds)
    return {"cells": len(drift), "rounds": len(rounds)}
