"""The counting part of a consolidation run, done by PostgreSQL (GROUP BY), not row by row in Python.

`consolidation_counts(round_id=...)` returns everything a run stores except the duplicate groups
and campaigns: counts per section x organisation x type x disposition state, the totals per
section, organisation and type, the disposition states, hidden and endorsed comments, each
section's comment ids in clause and passage order, national positions, and what the snapshot was
made from (as_of, comment count, fingerprint). No comment body is read here; the bodies are read
only by the grouping (consolidation.services.chunks).

Five aggregate queries over the round's submitted comments, one over its supports (issue 12),
plus three small lookups (sections,
organisations, national positions and member states). They run in one REPEATABLE READ
transaction when the caller asks for it (the snapshot a run writes), so that the counts, the id
lists and the fingerprint all describe the same moment; `counts_alongside` takes them on a second
connection in that transaction's exported snapshot while the caller goes on (an incremental run).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q

from accounts.models import Organisation
from comments.models import Comment, CommentSupport, NationalPosition
from consultations.models import Participation, Role, Section

from ..models import Disposition

SUBMITTED = Comment.Status.SUBMITTED
TYPES = tuple(Comment.Type.values)
# What each row of a run's counts holds (a list, not a dict: at a million comments a result held
# tens of thousands of cells, each one naming its keys again).
COUNT_COLUMNS = ("section", "organisation", "type", "status", "count")

# 'open' (nothing yet), 'proposed' (consultants proposed, not decided) or the decision.
STATE_SQL = "COALESCE(NULLIF(d.decision, ''), CASE WHEN d.proposed_decision <> '' THEN 'proposed' ELSE 'open' END)"


def _tables() -> dict[str, str]:
    return {
        "comment": Comment._meta.db_table,
        "disposition": Disposition._meta.db_table,
        "support": CommentSupport._meta.db_table,
    }


# One pass over the round's submitted comments: the counts table (the bench's reference GROUP BY)
# with each cell's hidden and endorsed comments and what the snapshot was made from: the latest
# change (as UTC text: parsing ten thousand timestamps costs more than the query) and an
# order-free fingerprint of every (id, revision) pair, the XOR of their 64-bit hashes.
COUNTS_SQL = """
SELECT c.section_id, c.organisation_id, c.type, {state}, count(*),
       count(*) FILTER (WHERE c.is_hidden), count(*) FILTER (WHERE c.is_endorsed),
       {latest}, bit_xor({pair_hash})
FROM {comment} c LEFT JOIN {disposition} d ON d.comment_id = c.id
WHERE c.round_id = %s AND c.status = %s
GROUP BY 1, 2, 3, 4
"""
# Other delegations' support (issue 12), from the supports' side: only the supported comments are
# read (joining every comment of the round to its supports in the pass above cost it half again).
# One pass, two groupings: per section and organisation of the comment, the comments supported and
# the supports they hold; per supporting organisation, the comments it supports.
SUPPORTS_SQL = """
SELECT GROUPING(s.organisation_id), c.section_id, c.organisation_id, s.organisation_id,
       count(DISTINCT c.id), count(*)
FROM {support} s JOIN {comment} c ON c.id = s.comment_id
WHERE c.round_id = %s AND c.status = %s
GROUP BY GROUPING SETS ((c.section_id, c.organisation_id), (s.organisation_id))
"""

# SQLite (`make run`) has no grouping sets: the two groupings one after the other.
SUPPORTS_SQL_SQLITE = """
SELECT 0, c.section_id, c.organisation_id, NULL, count(DISTINCT c.id), count(*)
FROM {support} s JOIN {comment} c ON c.id = s.comment_id
WHERE c.round_id = %s AND c.status = %s GROUP BY c.section_id, c.organisation_id
UNION ALL
SELECT 1, NULL, NULL, s.organisation_id, count(DISTINCT c.id), count(*)
FROM {support} s JOIN {comment} c ON c.id = s.comment_id
WHERE c.round_id = %s AND c.status = %s GROUP BY s.organisation_id
"""
# The latest change as UTC text ("2026-11-30 10:00:00.123456"): SQLite stores it so.
LATEST_SQL = {"postgresql": "(max(c.updated_at) AT TIME ZONE 'UTC')::text", "sqlite": "max(c.updated_at)"}

# The hidden ids, and the endorsed ids per organisation (national positions): short lists.
FLAGGED_SQL = """
SELECT organisation_id, array_agg(id ORDER BY id) FILTER (WHERE is_hidden),
       array_agg(id ORDER BY id) FILTER (WHERE is_endorsed)
FROM {comment} WHERE round_id = %s AND status = %s AND (is_hidden OR is_endorsed)
GROUP BY organisation_id
"""
SNAPSHOT_SQL = "SELECT count(*), bit_xor({pair_hash}) FROM {comment} WHERE round_id = %s AND status = %s"
PAIR_HASH = "hashint8extended({c}id * 1048576 + {c}revision, 0)"

# Each section's ids in clause and passage order (the order the section page shows them).
SECTION_IDS_SQL = """
SELECT section_id, array_agg(id ORDER BY position_start ASC NULLS LAST, created_at, id)
FROM {comment} WHERE round_id = %s AND status = %s GROUP BY section_id
"""


def fingerprint(count: int, hashed: int | None) -> str:
    """What a snapshot was made from: how many comments, and the XOR of their (id, revision) hashes."""
    return hashlib.sha256(f"{count}:{hashed or 0}".encode()).hexdigest()


def current_fingerprint(*, round_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(SNAPSHOT_SQL.format(pair_hash=PAIR_HASH.format(c=""), **_tables()), [round_id, SUBMITTED])
        count, hashed = cursor.fetchone()
        return fingerprint(count, hashed)


def _postgresql() -> bool:
    """Whether the database is PostgreSQL; else SQLite (`make run`), which has no arrays to
    aggregate into and no grouping sets: those few queries have a plainer twin there."""
    return connection.vendor == "postgresql"


def section_comment_ids(*, round_id: int) -> dict[int, list[int]]:
    """Each section's submitted comment ids in clause and passage order."""
    if not _postgresql():
        ids: dict[int, list[int]] = {}
        rows = (
            Comment.objects.filter(round_id=round_id, status=SUBMITTED)
            .order_by(F("position_start").asc(nulls_last=True), "created_at", "id")
            .values_list("section_id", "id")
        )
        for section_id, comment_id in rows:
            ids.setdefault(section_id, []).append(comment_id)
        return ids
    with connection.cursor() as cursor:
        cursor.execute(SECTION_IDS_SQL.format(**_tables()), [round_id, SUBMITTED])
        return {section_id: list(ids) for section_id, ids in cursor.fetchall()}


def _flagged(round_id: int) -> list[tuple[int, list[int] | None, list[int] | None]]:
    """(organisation, its hidden ids, its endorsed ids) of the organisations with either, ids in order."""
    if _postgresql():
        with connection.cursor() as cursor:
            cursor.execute(FLAGGED_SQL.format(**_tables()), [round_id, SUBMITTED])
            return cursor.fetchall()
    found: dict[int, tuple[list[int], list[int]]] = {}
    rows = (
        Comment.objects.filter(Q(is_hidden=True) | Q(is_endorsed=True), round_id=round_id, status=SUBMITTED)
        .order_by("id")
        .values_list("organisation_id", "id", "is_hidden", "is_endorsed")
    )
    for org_id, comment_id, is_hidden, is_endorsed in rows:
        hidden, endorsed = found.setdefault(org_id, ([], []))
        if is_hidden:
            hidden.append(comment_id)
        if is_endorsed:
            endorsed.append(comment_id)
    return [(org_id, hidden or None, endorsed or None) for org_id, (hidden, endorsed) in found.items()]


@dataclass
class RoundCounts:
    """What a run stores besides its groups: the parts of ConsolidationRun.result, and its provenance."""

    counts: list[list[Any]]  # one row per cell, its values as COUNT_COLUMNS names them
    sections: list[dict[str, Any]]  # id, key, number, heading, position, total, hidden, by_type
    organisations: list[dict[str, Any]]
    totals: dict[str, Any]  # comments, hidden, endorsed, individual, by_type, by_status, organisations, sections
    hidden_ids: list[int]
    national_positions: list[dict[str, Any]]
    as_of: datetime | None
    comment_count: int
    fingerprint: str


def consolidation_counts(*, round_id: int, consultation_id: int) -> RoundCounts:
    """The counts, totals and national positions of a round's submitted comments, by SQL.

    The sections carry everything but their `comment_ids` (section_comment_ids) and groups.
    """
    tables = _tables()
    params: list[int | str] = [round_id, SUBMITTED]
    postgresql = _postgresql()
    counts_sql = COUNTS_SQL.format(
        state=STATE_SQL, pair_hash=PAIR_HASH.format(c="c."), latest=LATEST_SQL[connection.vendor], **tables
    )
    with connection.cursor() as cursor:
        cursor.execute(counts_sql, params)
        grouped = cursor.fetchall()
        if postgresql:
            cursor.execute(SUPPORTS_SQL.format(**tables), params)
        else:
            cursor.execute(SUPPORTS_SQL_SQLITE.format(**tables), params * 2)
        supports_rows = cursor.fetchall()
    flagged = _flagged(round_id)

    # Totals from the counts table: one row per cell, far fewer than comments at scale.
    grouped.sort()
    section_type: dict[tuple[int, str], int] = {}
    section_hidden: dict[int, int] = {}
    org_type: dict[tuple[int, str], int] = {}
    org_flags: dict[int, list[int]] = {}  # hidden, endorsed
    # Comments supported by at least one other delegation, and the supports they hold.
    section_support: dict[int, list[int]] = {}
    org_support: dict[int, list[int]] = {}
    by_status: dict[str, int] = {}
    cells: dict[int, list[list[Any]]] = {}
    latest, hashed = "", 0
    supports_given: dict[int, int] = {}
    for comment_side, section_id, org_id, supporter_id, n_supported, n_supports in supports_rows:
        # GROUPING(s.organisation_id) is 1 on the rows grouped by the comment's section and organisation.
        if not comment_side:
            supports_given[supporter_id] = n_supports
            continue
        for table, owner in ((section_support, section_id), (org_support, org_id)):
            pair = table.setdefault(owner, [0, 0])
            pair[0] += n_supported
            pair[1] += n_supports
    for section_id, org_id, kind, state, n, n_hidden, n_endorsed, changed, xored in grouped:
        latest = max(latest, changed)  # same format, UTC: the text order is the time order
        hashed ^= xored
        key = (section_id, kind)
        section_type[key] = section_type.get(key, 0) + n
        key = (org_id, kind)
        org_type[key] = org_type.get(key, 0) + n
        by_status[state] = by_status.get(state, 0) + n
        if n_hidden:
            section_hidden[section_id] = section_hidden.get(section_id, 0) + n_hidden
        if n_hidden or n_endorsed:
            flags = org_flags.setdefault(org_id, [0, 0])
            flags[0] += n_hidden
            flags[1] += n_endorsed
    for cell in grouped:
        cells.setdefault(cell[0], []).append(list(cell[:5]))  # as COUNT_COLUMNS names them

    def by_type_of(owner: int, table: dict[tuple[int, str], int]) -> dict[str, int]:
        return {t: table.get((owner, t), 0) for t in TYPES}

    section_rows = sorted(
        Section.objects.filter(pk__in=list(cells)).values("id", "key", "number", "heading", "position"),
        key=lambda s: (s["position"], s["id"]),
    )
    sections = []
    for s in section_rows:
        by_type = by_type_of(s["id"], section_type)
        supported, supports = section_support.get(s["id"], (0, 0))
        sections.append(
            {
                **s,
                "total": sum(by_type.values()),
                "hidden": section_hidden.get(s["id"], 0),
                "supported": supported,
                "supports": supports,
                "by_type": by_type,
            }
        )
    counts = [cell for s in section_rows for cell in cells[s["id"]]]
    organisations = []
    org_ids = {org_id for org_id, _kind in org_type}
    org_rows = Organisation.objects.filter(pk__in=org_ids).values("id", "name", "kind", "country_code")
    for o in sorted(org_rows, key=lambda o: (o["name"], o["id"])):
        by_type = by_type_of(o["id"], org_type)
        total = sum(by_type.values())
        hidden, endorsed = org_flags.get(o["id"], (0, 0))
        supported, supports = org_support.get(o["id"], (0, 0))
        organisations.append(
            {
                **o,
                "total": total,
                "endorsed": endorsed,
                "individual": total - endorsed,
                "hidden": hidden,
                # Its comments that other delegations support, and the supports they hold.
                "supported": supported,
                "supports": supports,
                # Other delegations' comments it supports.
                "supports_given": supports_given.get(o["id"], 0),
                "by_type": by_type,
            }
        )
    totals_by_type = {t: sum(n for (_s, kind), n in section_type.items() if kind == t) for t in TYPES}
    comment_count = sum(totals_by_type.values())
    hidden = sum(h for h, _e in org_flags.values())
    endorsed = sum(e for _h, e in org_flags.values())
    as_of = datetime.fromisoformat(latest).replace(tzinfo=UTC) if latest else None
    hidden_ids = sorted(i for _org, hidden_list, _e in flagged for i in hidden_list or ())
    endorsed_ids = {org: list(ids) for org, _h, ids in flagged if ids}
    return RoundCounts(
        counts=counts,
        sections=sections,
        organisations=organisations,
        totals={
            "comments": comment_count,
            "hidden": hidden,
            "endorsed": endorsed,
            "individual": comment_count - endorsed,
            "supported": sum(pair[0] for pair in section_support.values()),
            "supports": sum(pair[1] for pair in section_support.values()),
            "by_type": totals_by_type,
            "by_status": dict(sorted(by_status.items())),
            "organisations": len(org_ids),
            "sections": len(cells),
        },
        hidden_ids=hidden_ids,
        national_positions=_national_positions(round_id, consultation_id, endorsed_ids),
        as_of=as_of,
        comment_count=comment_count,
        fingerprint=fingerprint(comment_count, hashed),
    )


def counts_alongside(*, round_id: int, consultation_id: int) -> Callable[[], RoundCounts]:
    """Start taking a round's counts (consolidation_counts); call what it returns to have them.

    Where the caller's transaction is the outermost and REPEATABLE READ on PostgreSQL (a run's
    snapshot), the counts are taken on a second connection, in a thread, in that transaction's
    exported snapshot: they describe the same moment, and PostgreSQL counts while the caller
    reads and groups the comments (an incremental run: a third of its time at 100,000 comments).
    Elsewhere (a nested transaction, whose own writes another connection would not see;
    SQLite) they are taken here and now.
    """
    snapshot = None
    if _postgresql() and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT CASE WHEN current_setting('transaction_isolation') = 'repeatable read' "
                "THEN pg_export_snapshot() END"
            )
            (snapshot,) = cursor.fetchone()
    if snapshot is None:
        counted = consolidation_counts(round_id=round_id, consultation_id=consultation_id)
        return lambda: counted
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="counts")
    future = executor.submit(_counts_in_snapshot, snapshot, round_id, consultation_id)
    executor.shutdown(wait=False)
    return future.result


SNAPSHOT_ID = re.compile(r"^[0-9A-F]+(-[0-9A-F]+)+$")


def _counts_in_snapshot(snapshot: str, round_id: int, consultation_id: int) -> RoundCounts:
    """consolidation_counts on this thread's own connection, in another transaction's exported snapshot."""
    if not SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return consolidation_counts(round_id=round_id, consultation_id=consultation_id)
    finally:
        connection.close()  # this thread's connection, not the caller's


def _national_positions(round_id: int, consultation_id: int, endorsed: dict[int, list[int]]) -> list[dict]:
    """Each member state's endorsed comments (its national position) and whether it was submitted."""
    positions = {
        p["organisation_id"]: p
        for p in NationalPosition.objects.filter(round_id=round_id).values(
            "organisation_id", "submitted_at", "endorsed_count"
        )
    }
    member_states = Participation.objects.filter(consultation_id=consultation_id, role=Role.MEMBER_STATE).values_list(
        "organisation_id", flat=True
    )
    org_ids = set(member_states) | set(positions) | set(endorsed)
    organisations = Organisation.objects.filter(pk__in=org_ids).values("id", "name", "country_code")
    entries = []
    for org in sorted(organisations, key=lambda o: (o["name"], o["id"])):
        position = positions.get(org["id"])
        ids = endorsed.get(org["id"], [])
        entries.append(
            {
                "organisation": org["id"],
                "name": org["name"],
                "country_code": org["country_code"],
                "endorsed": len(ids),
                "endorsed_ids": ids,
                "submitted": position is not None,
                "submitted_at": position["submitted_at"].isoformat() if position else None,
                "submitted_count": position["endorsed_count"] if position else 0,
            }
        )
    return entries
