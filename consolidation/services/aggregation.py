"""Consolidation of a round's submitted comments: requesting a run and computing it in Celery.

`consolidation_request` (a person) and `consolidation_request_for_closed_round` (the system,
when a round closes) create a queued ConsolidationRun and queue `consolidate_round` once the
transaction commits. The tasks then call, in order:

* `consolidation_start`: claims the run with a conditional UPDATE (config.jobs: lease,
  attempts) and splits its sections into chunks balanced by comment count
  (ConsolidationChunk rows; a later attempt keeps them);
* `consolidation_chunk`, once per chunk, in any worker process: groups the chunk's sections
  and stores its part durably; idempotent (a redelivered task finds it done), and it keeps the
  run's lease alive while it works;
* `consolidation_link`, once all chunks are done, once per share of the LSH bands (a second
  chord, `consolidation_links_plan`): verifies the candidate pairs across chunks of its share
  and stores the links found; idempotent, and ignored by the merge if made from other parts;
* `consolidation_merge`, once all links are done (the second chord's callback): in one REPEATABLE
  READ transaction, counts by SQL (services.counting), checks each chunk against the data of
  that moment (a chunk missing, or made from comments edited since, is computed again there),
  joins the chunks' texts and links into the campaigns across sections (verifying a share
  whose link task was lost), and writes the whole result.

A run that follows a snapshot of the same round, threshold and result schema is incremental
(ConsolidationRun.incremental): it has no chunks, and its merge folds only the comments changed
since into the grouping state that snapshot kept (services.incremental; a full run keeps that
state at the end of its merge). The result is the same as a full run's.

So a worker killed mid-run leaves nothing half-written, only the attempt that holds the run
writes, a failure marks it failed (`consolidation_fail`, which frees the round), and the
snapshot equals what one process computes from scratch (`compute_consolidation`, kept as that
reference; `consolidation_execute` runs the four steps in one process).

What a run contains (ConsolidationRun.result, plus DuplicateGroup rows):
* counts per section x organisation x type x disposition state of every submitted comment
  (drafts and withdrawn comments are left out; hidden ones are counted and listed apart), one
  row per cell as result["count_columns"] names its values;
* totals per section, per organisation and per type;
* national positions apart from individual comments: each member state's endorsed comments
  and whether its NationalPosition was submitted;
* each section's comment ids in clause and passage order (the run's ConsolidationListing);
* duplicate groups per section: identical texts, and near-duplicates whose similarity reaches
  settings.NEAR_DUPLICATE_THRESHOLD (consolidation.grouping: hashing, MinHash/LSH candidates
  verified with the exact similarity), stored as DuplicateGroup rows only;
* campaigns: groups found the same way over the whole round whose comments are on more than
  one section (one text pasted on many sections). They are packed in the run's listing
  (selectors_runs.campaigns_of; totals["campaigns"] and ["campaign_comments"] count them), not
  kept as DuplicateGroup rows: a DuplicateGroup belongs to one section, and a comment is in at
  most one of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from psycopg.errors import SerializationFailure

from audit.services import audit_log
from comments.models import Comment
from config import jobs
from config.errors import ConflictError
from config.jobs import enqueue_after_commit
from consultations.models import EngagementRound, Section

from .. import grouping

# Re-exported: what "the same text" and "similar" mean in a run.
from ..grouping import normalise_text as normalise_text
from ..grouping import similarity as similarity
from ..models import (
    ACTIVE_STATUSES,
    ConsolidationChunk,
    ConsolidationListing,
    ConsolidationRun,
    DuplicateGroup,
    DuplicateGroupMember,
    GroupingState,
    JobStatus,
)
from ..selectors_runs import campaigns_of, packed_campaigns
from . import chunks as chunking
from . import counting, incremental

# 2: the sections' ordered comment ids are in the run's ConsolidationListing, not in its result.
# 3: the sections' groups are only DuplicateGroup rows; the counts are rows of COUNT_COLUMNS; the
#    campaigns' comment ids are in the listing (selectors_runs.campaigns_of).
# 4: the campaigns are in the listing, not in the result (selectors_runs.campaigns_of): they were
#    60% of the result's JSON, which PostgreSQL parses on every write of a run.
RESULT_SCHEMA = 4
# Bounds of the progress bar while sections are processed; 100 only once the result is written.
PROGRESS_LOADED = 5
PROGRESS_COMPUTED = 95
SERIALIZATION_RETRIES = 3


# --- requests -----------------------------------------------------------------------------


def _already_under_way(run: ConsolidationRun | None) -> ConflictError:
    # Not yet with the broker some seconds after it was asked for: the broker is down (just
    # after the request, its commit callback may still be publishing it).
    publishing = timedelta(seconds=settings.JOB_PUBLISH_TIMEOUT_SECONDS + 1)
    if run is not None and run.waiting_for_queue and run.requested_at < timezone.now() - publishing:
        return ConflictError(
            _(
                "A consolidation of this round is already queued. The task queue cannot be reached just now; "
                "it will start as soon as the queue is back."
            ),
            code="consolidation_active",
        )
    when = run.started_at or run.requested_at if run else None
    started = date_format(timezone.localtime(when), "DATETIME_FORMAT") if when else "-"
    return ConflictError(
        _("A consolidation of this round is already under way (started %(started)s).") % {"started": started},
        code="consolidation_active",
    )


def _active_run(round_id: int) -> ConsolidationRun | None:
    return ConsolidationRun.objects.filter(round_id=round_id, status__in=ACTIVE_STATUSES).first()


def _queue(run: ConsolidationRun) -> None:
    enqueue_after_commit("consolidation.tasks.consolidate_round", run.pk, job=run)


def _create_run(*, engagement_round: EngagementRound, actor) -> ConsolidationRun:
    """Insert a queued run; the partial unique constraint refuses a second active one (IntegrityError)."""
    with transaction.atomic():
        run = ConsolidationRun.objects.create(round=engagement_round, requested_by=actor)
        audit_log(
            actor=actor,
            action="consolidation.requested",
            target=run,
            consultation=engagement_round.consultation,
            data={"round": engagement_round.pk},
        )
    _queue(run)
    return run


def consolidation_request(*, actor, engagement_round: EngagementRound) -> ConsolidationRun:
    """The secretariat asks for a consolidation of a round that has opened ("Consolidate now")."""
    if not actor.has_perm("consolidation.run", engagement_round.consultation):
        raise PermissionDenied(_("You are not allowed to consolidate this round."))
    if engagement_round.phase_at(timezone.now()) == EngagementRound.State.SCHEDULED:
        raise ValidationError(_("This round has not opened yet; there is nothing to consolidate."))
    active = _active_run(engagement_round.pk)
    if active is not None:
        raise _already_under_way(active)
    try:
        return _create_run(engagement_round=engagement_round, actor=actor)
    except IntegrityError:
        # Another request got in between the check and the insert.
        raise _already_under_way(_active_run(engagement_round.pk))


def current_fingerprint(*, round_id: int) -> str:
    return counting.current_fingerprint(round_id=round_id)


def consolidation_request_for_closed_round(*, round_id: int) -> ConsolidationRun | None:
    """For the system when a round closes: queue a consolidation unless one is active or still current.

    Idempotent: returns None (and does nothing) if the round is not closed, a run is queued or
    running, or the latest finished run was made from exactly the current comments.
    """
    engagement_round = EngagementRound.objects.select_related("consultation").filter(pk=round_id).first()
    if engagement_round is None or engagement_round.phase_at(timezone.now()) in (
        EngagementRound.State.SCHEDULED,
        EngagementRound.State.OPEN,
    ):
        return None
    if _active_run(round_id) is not None:
        return None
    latest_done = (
        ConsolidationRun.objects.filter(round_id=round_id, status=JobStatus.DONE)
        .order_by("-finished_at", "-id")
        .values_list("fingerprint", flat=True)
        .first()
    )
    if latest_done is not None and latest_done == current_fingerprint(round_id=round_id):
        return None
    try:
        return _create_run(engagement_round=engagement_round, actor=None)
    except IntegrityError:
        return None


def consolidation_fail(*, run_id: int, error: str) -> None:
    """Mark an unfinished run failed, so that the round can be consolidated again."""
    failed = ConsolidationRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.FAILED, error=error[:4000], finished_at=timezone.now(), lease_expires_at=None
    )
    if failed:
        run = ConsolidationRun.objects.select_related("round__consultation").get(pk=run_id)
        audit_log(
            actor=None,
            action="consolidation.failed",
            target=run,
            consultation=run.round.consultation,
            data={"error": error[:500]},
        )


# --- execution ----------------------------------------------------------------------------


def consolidation_start(*, run_id: int) -> tuple[int, list[int]] | None:
    """Claim a run and split it into chunks: (attempt, chunk indexes) for the chunk tasks, or None.

    None: the run is done, failed or held by a live worker (nothing to do). A later attempt of
    the same run (its worker died, the sweep queued it again) keeps the chunks already planned,
    and those already computed are reused if their sections have not changed since (checked at
    the merge).
    """
    attempt = jobs.claim(ConsolidationRun, run_id, progress=0, error="")
    if attempt is None:
        return None
    with jobs.lease(ConsolidationRun, run_id, attempt), jobs.collector_paused():
        _threshold()  # a wrong setting fails the run now, not in every chunk
        run = ConsolidationRun.objects.get(pk=run_id)
        indexes = list(ConsolidationChunk.objects.filter(run_id=run_id).values_list("index", flat=True))
        # An incremental run has no chunks: its merge folds the changed comments into the state.
        if not indexes and not _goes_incremental(run):
            counts = dict(
                Comment.objects.filter(round_id=run.round_id, status=Comment.Status.SUBMITTED)
                .values("section_id")
                .annotate(n=Count("id"))
                .values_list("section_id", "n")
                .order_by()
            )
            plan = chunking.plan_chunks(
                counts, per_chunk=settings.CONSOLIDATION_CHUNK_COMMENTS, max_chunks=settings.CONSOLIDATION_MAX_CHUNKS
            )
            ConsolidationChunk.objects.bulk_create(
                ConsolidationChunk(
                    run_id=run_id, index=n, section_ids=ids, planned_comments=sum(counts[s] for s in ids)
                )
                for n, ids in enumerate(plan)
            )
            indexes = list(range(len(plan)))
        _set_progress(run_id, attempt, PROGRESS_LOADED)
    return attempt, sorted(indexes)


def consolidation_chunk(*, run_id: int, attempt: int, index: int) -> None:
    """Compute one chunk of a run and store it; does nothing if it is stored or the run moved on.

    Idempotent: a redelivered task finds its chunk done. The run's lease is kept alive while the
    chunk is computed; the progress moves as chunks finish.
    """
    if not jobs.held(ConsolidationRun, run_id, attempt).exists():
        return  # finished, failed, or taken over by a later attempt
    chunk = ConsolidationChunk.objects.select_related("run").get(run_id=run_id, index=index)
    if not (chunk.done and len(chunk.sketch) > 0):  # done, and its part not yet merged away
        with jobs.keep_alive(ConsolidationRun, run_id, attempt), jobs.collector_paused():
            part = chunking.compute_chunk(
                round_id=chunk.run.round_id,
                section_ids=chunk.section_ids,
                threshold=_threshold(),
                group_section=lambda **kwargs: duplicate_groups(**kwargs),
            )
            chunking.store_part(chunk, part)
    finished = ConsolidationChunk.objects.filter(run_id=run_id).aggregate(
        done=Count("id", filter=Q(done=True)), total=Count("id")
    )
    span = PROGRESS_COMPUTED - PROGRESS_LOADED
    _set_progress(run_id, attempt, PROGRESS_LOADED + span * finished["done"] // max(finished["total"], 1))


def link_partitions(chunks: int) -> int:
    """How many link tasks verify the candidate pairs across `chunks` chunks (0: no pair to verify)."""
    if chunks < 2:
        return 0
    return max(1, min(chunks, settings.CONSOLIDATION_LINK_TASKS, grouping.BANDS))


def consolidation_links_plan(*, run_id: int, attempt: int) -> list[int] | None:
    """The link tasks to queue once every chunk is done (their partitions), or None if the run moved on."""
    if not jobs.held(ConsolidationRun, run_id, attempt).exists():
        return None
    return list(range(link_partitions(ConsolidationChunk.objects.filter(run_id=run_id).count())))


def consolidation_link(*, run_id: int, attempt: int, partition: int) -> None:
    """Verify one share of the candidate pairs across chunks and store it on chunk `partition`'s row.

    Idempotent: a redelivered task finds its links stored. Does nothing if a chunk is not done
    (the merge then verifies that share itself); the merge also ignores links made from chunks
    it has to compute again.
    """
    if not jobs.held(ConsolidationRun, run_id, attempt).exists():
        return
    rows = list(ConsolidationChunk.objects.filter(run_id=run_id).order_by("index"))
    partitions = link_partitions(len(rows))
    if partition >= partitions or len(rows[partition].links) > 0:
        return
    if not all(row.done and len(row.sketch) > 0 for row in rows):
        return
    with jobs.keep_alive(ConsolidationRun, run_id, attempt), jobs.collector_paused():
        parts = [chunking.ChunkPart.from_row(row) for row in rows]
        joined = chunking.join_parts(parts)
        links = chunking.cross_links(
            joined, parts, threshold=_threshold(), bands=chunking.link_bands(partition, partitions)
        )
        ConsolidationChunk.objects.filter(pk=rows[partition].pk).update(
            links=chunking.links_bytes(joined, links, chunking.parts_fingerprint(parts))
        )


def consolidation_merge(*, run_id: int, attempt: int, remember_later: bool = True) -> ConsolidationRun:
    """Merge a run's chunks into its snapshot, and write it all in one transaction (or nothing).

    The counts are taken, the chunks checked against the data and the result written in one
    REPEATABLE READ transaction, so the snapshot describes one moment: a chunk computed from
    other data than that moment (comments edited while the run was under way), or missing, is
    computed again here. Only the attempt that holds the run writes.
    """
    run = ConsolidationRun.objects.select_related("round__consultation").get(pk=run_id)
    if run.status != JobStatus.RUNNING or run.attempts != attempt:
        return run
    jobs.renew(ConsolidationRun, run_id, attempt)
    threshold = _threshold()
    for tries in range(SERIALIZATION_RETRIES, -1, -1):
        try:
            with jobs.collector_paused():
                return _merge_once(run, attempt, threshold, remember_later=remember_later)
        except OperationalError as exc:
            # A lease renewal committed on the run's row just as the snapshot began: begin again.
            if tries and isinstance(exc.__cause__, SerializationFailure):
                continue
            raise
    raise AssertionError("unreachable")


def _merge_once(run: ConsolidationRun, attempt: int, threshold: float, *, remember_later: bool) -> ConsolidationRun:
    run_id = run.pk
    with _snapshot():
        locked = ConsolidationRun.objects.select_for_update().get(pk=run_id)
        if locked.status != JobStatus.RUNNING or locked.attempts != attempt:
            return locked  # Taken over by a later attempt, which will write its own result.
        computed = _fold(run, threshold) if locked.incremental else None
        if computed is None:  # a full run (or the state an incremental one needed is gone)
            if locked.incremental:
                ConsolidationRun.objects.filter(pk=run_id).update(incremental=False)
                locked.incremental = False
            computed = merge_chunks(engagement_round=run.round, run_id=run_id, threshold=threshold)
            if remember_later:
                # What the next run needs to be incremental is kept by a task of its own, once
                # this snapshot is written: at a million comments it took 54 s of this merge.
                enqueue_after_commit("consolidation.tasks.consolidate_remember", run_id)
        _write_result(locked, computed)
        audit_log(
            actor=None,
            action="consolidation.done",
            target=locked,
            consultation=run.round.consultation,
            data={"comments": computed.comment_count, "groups": len(computed.groups)},
        )
    return locked


def _goes_incremental(run: ConsolidationRun) -> bool:
    """Whether a run folds the changes into the latest snapshot's state (recorded on the run)."""
    if not run.incremental and incremental.usable(round_id=run.round_id, threshold=_threshold(), schema=RESULT_SCHEMA):
        ConsolidationRun.objects.filter(pk=run.pk).update(incremental=True)
        run.incremental = True
    return run.incremental


def _fold(run: ConsolidationRun, threshold: float) -> Computed | None:
    """An incremental run's result (services.incremental), or None if its state is not usable."""
    folded = incremental.compute(engagement_round=run.round, run_id=run.pk, threshold=threshold, schema=RESULT_SCHEMA)
    if folded is None:
        return None
    groups = [GroupSpec(*g) for g in folded.groups]
    return assemble(folded.counted, groups, folded.campaigns, threshold=threshold, listed=folded.listed)


def consolidation_execute(*, run_id: int, remember: bool = True) -> ConsolidationRun:
    """The whole run in this process: claim, every chunk, merge, remember (what the tasks do, one after another).

    A run still marked running may be claimed again once its lease has expired (its worker is
    gone; see config.jobs). Each claim bumps `attempts`, and only the attempt that holds the
    run may write the result, so two executions of one run never both write.
    """
    started = consolidation_start(run_id=run_id)
    if started is None:
        return ConsolidationRun.objects.select_related("round__consultation").get(pk=run_id)
    attempt, indexes = started
    with jobs.lease(ConsolidationRun, run_id, attempt):
        for index in indexes:
            consolidation_chunk(run_id=run_id, attempt=attempt, index=index)
        for partition in consolidation_links_plan(run_id=run_id, attempt=attempt) or []:
            consolidation_link(run_id=run_id, attempt=attempt, partition=partition)
        merged = consolidation_merge(run_id=run_id, attempt=attempt, remember_later=False)
    if remember:  # else the caller keeps the state (consolidation_remember) when it wants to
        consolidation_remember(run_id=run_id)
    return merged


def consolidation_remember(*, run_id: int) -> bool:
    """After a full run's snapshot: keep what the round's next run needs to be incremental. True if kept.

    Kept only while it can describe the data: the run is the round's latest, the state is not
    from a later run, and no comment changed since the snapshot (each chunk's part checked
    against the round's sections now, as the merge checks them). Otherwise nothing is kept and
    the next run is full. Either way the chunks' parts are then cleared (the rows stay: what was
    planned and done), the run's and any older run's of the round. Idempotent.
    """
    run = ConsolidationRun.objects.filter(pk=run_id).first()
    if run is None:
        return False
    kept = False
    if run.status == JobStatus.DONE and not run.incremental and connection.vendor == "postgresql":
        try:
            with _snapshot(), jobs.collector_paused():
                kept = _remember_once(run)
        except OperationalError as exc:
            # An incremental run of the round updated the state meanwhile: it is newer than this one.
            if not isinstance(exc.__cause__, SerializationFailure):
                raise
    # The parts served their purpose: keep the rows, not the texts.
    ConsolidationChunk.objects.filter(run__round_id=run.round_id, run_id__lte=run_id).exclude(sketch=b"").update(
        sketch=b"", groups=[], links=b""
    )
    return kept


def _remember_once(run: ConsolidationRun) -> bool:
    with connection.cursor() as cursor:  # one at a time per round, with the incremental runs' folds
        incremental.lock_state(cursor, round_id=run.round_id)
    if ConsolidationRun.objects.filter(round_id=run.round_id, pk__gt=run.pk).exists():
        return False  # a later run keeps (or folds into) the state
    if GroupingState.objects.filter(round_id=run.round_id, run_id__gte=run.pk).exists():
        return False  # kept already
    current = chunking.section_fingerprints(round_id=run.round_id)
    rows = list(ConsolidationChunk.objects.filter(run_id=run.pk).order_by("index"))
    covered = {str(s) for chunk in rows for s in chunk.section_ids}
    unchanged = all(
        chunk.done
        and len(chunk.sketch) > 0
        and all(chunk.seen.get(str(s)) == current.get(str(s), [0, 0]) for s in chunk.section_ids)
        for chunk in rows
    )
    if not unchanged or not set(current) <= covered:
        return False
    parts = [chunking.ChunkPart.from_row(chunk) for chunk in rows]
    groups = [GroupSpec(*group) for part in parts for group in part.groups]
    incremental.remember(
        round_id=run.round_id,
        run_id=run.pk,
        threshold=float(run.result["threshold"]),
        schema=int(run.result["schema"]),
        parts=parts,
        computed=Computed(result={}, groups=groups, campaigns=campaigns_of(run=run)),
    )
    return True


@contextmanager
def _snapshot() -> Iterator[None]:
    """One transaction that sees one moment of the data (REPEATABLE READ when it is not nested;
    SQLite's transactions are serializable already)."""
    top_level = not connection.in_atomic_block
    with transaction.atomic():
        if top_level and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def merge_chunks(*, engagement_round: EngagementRound, run_id: int, threshold: float) -> Computed:
    """The run's result from its stored chunks (recomputing those made from other data) and SQL counts.

    The counts are taken on a second connection in the snapshot's exported snapshot while this
    one reads the chunks' parts and merges the campaigns (counting.counts_alongside): they were
    a quarter of the merge at 100,000 comments, the one step of a run no worker shares.
    """
    take_counts = counting.counts_alongside(
        round_id=engagement_round.pk, consultation_id=engagement_round.consultation_id
    )
    ids = counting.section_comment_ids(round_id=engagement_round.pk)
    current = chunking.section_fingerprints(round_id=engagement_round.pk)

    def fresh(chunk: ConsolidationChunk) -> bool:
        return (
            chunk.done
            and len(chunk.sketch) > 0
            and all(chunk.seen.get(str(s)) == current.get(str(s), [0, 0]) for s in chunk.section_ids)
        )

    def compute(section_ids: list[int]) -> chunking.ChunkPart:
        return chunking.compute_chunk(
            round_id=engagement_round.pk,
            section_ids=section_ids,
            threshold=threshold,
            group_section=lambda **kwargs: duplicate_groups(**kwargs),
        )

    parts, covered = [], set()
    rows = list(ConsolidationChunk.objects.filter(run_id=run_id).order_by("index"))
    for chunk in rows:
        if fresh(chunk):
            parts.append(chunking.ChunkPart.from_row(chunk))
        else:  # computed again here, and kept on its row for consolidation_remember
            parts.append(compute(list(chunk.section_ids)))
            chunking.store_part(chunk, parts[-1])
        covered.update(chunk.section_ids)
    missing = sorted(int(s) for s in current if int(s) not in covered)  # sections that had no comment then
    if missing:
        parts.append(compute(missing))
        planned = sum(current[str(s)][0] for s in missing)
        extra = ConsolidationChunk.objects.create(
            run_id=run_id, index=len(rows), section_ids=missing, planned_comments=planned
        )
        chunking.store_part(extra, parts[-1])
    # The link tasks' shares of the cross-chunk pairs, if made from exactly these parts (else
    # verified here: a chunk computed again, or a link task lost).
    joined = chunking.join_parts(parts)
    fingerprint = chunking.parts_fingerprint(parts)
    links = [chunking.links_from_bytes(rows[p].links, joined, fingerprint) for p in range(link_partitions(len(rows)))]
    if all(found is None for found in links):
        links = []  # all verified here, in one pass
    groups = [
        GroupSpec(section_id, kind, tuple(comment_ids), similarity)
        for part in parts
        for section_id, kind, comment_ids, similarity in part.groups
    ]
    # The sections with submitted comments in reading order, as the counts list them.
    listed = list(Section.objects.filter(pk__in=list(ids)).order_by("position", "id").values_list("id", flat=True))
    position_of = {cid: n for n, cid in enumerate(cid for section_id in listed for cid in ids[section_id])}
    campaigns = chunking.merge_campaigns(
        parts, round_id=engagement_round.pk, threshold=threshold, position_of=position_of, links=links, joined=joined
    )
    counted = take_counts()
    if [section["id"] for section in counted.sections] != listed:
        raise AssertionError("the counts and the comments were read from different moments")
    for section in counted.sections:
        section["comment_ids"] = ids[section["id"]]
    return assemble(counted, groups, campaigns, threshold=threshold)


def _set_progress(run_id: int, attempt: int, value: int) -> None:
    jobs.renew(ConsolidationRun, run_id, attempt, progress=value)


def _write_result(run: ConsolidationRun, computed: Computed) -> None:
    DuplicateGroup.objects.filter(run=run).delete()
    listed = np.asarray(computed.listed, dtype="<i8").tobytes()
    campaigns, campaign_ids, campaign_section_ids = packed_campaigns(computed.campaigns)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        # In binary: Django's cursor would send the bytes as hex text in the statement (8 MB at a
        # million comments, a second to parse).
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(
                f"INSERT INTO {ConsolidationListing._meta.db_table} "
                "(run_id, comment_ids, campaigns, campaign_ids, campaign_section_ids) VALUES (%s, %b, %b, %b, %b) "
                "ON CONFLICT (run_id) DO UPDATE SET comment_ids = EXCLUDED.comment_ids, "
                "campaigns = EXCLUDED.campaigns, campaign_ids = EXCLUDED.campaign_ids, "
                "campaign_section_ids = EXCLUDED.campaign_section_ids",
                [run.pk, listed, campaigns, campaign_ids, campaign_section_ids],
            )
        _copy_groups(run, computed.groups)
    else:
        ConsolidationListing.objects.update_or_create(
            run=run,
            defaults={
                "comment_ids": listed,
                "campaigns": campaigns,
                "campaign_ids": campaign_ids,
                "campaign_section_ids": campaign_section_ids,
            },
        )
        groups = DuplicateGroup.objects.bulk_create(
            [
                DuplicateGroup(
                    run=run, section_id=g.section_id, kind=g.kind, size=len(g.comment_ids), similarity=g.similarity
                )
                for g in computed.groups
            ]
        )
        DuplicateGroupMember.objects.bulk_create(
            [
                DuplicateGroupMember(duplicategroup_id=group.pk, comment_id=comment_id)
                for group, spec in zip(groups, computed.groups, strict=True)
                for comment_id in spec.comment_ids
            ],
            batch_size=1000,
        )
    run.result = computed.result
    run.as_of = computed.as_of
    run.comment_count = computed.comment_count
    run.fingerprint = computed.fingerprint
    run.status = JobStatus.DONE
    run.progress = 100
    run.finished_at = timezone.now()
    run.error = ""
    run.lease_expires_at = None
    run.save(
        update_fields=[
            "result",
            "as_of",
            "comment_count",
            "fingerprint",
            "status",
            "progress",
            "finished_at",
            "error",
            "lease_expires_at",
        ]
    )


def _copy_groups(run: ConsolidationRun, groups: Sequence[GroupSpec]) -> None:
    """The groups and their members by COPY, their ids taken from the table's sequence first.

    At a million comments a run holds about 100,000 groups: the ORM's bulk insert spent 5 s
    quoting them, the members' COPY needs the groups' ids, and COPY returns none.
    """
    if not groups:
        return
    table = DuplicateGroup._meta.db_table
    through = DuplicateGroupMember._meta.db_table
    with connection.cursor() as cursor:
        # The sequence named once: pg_get_serial_sequence in the select list looked it up again
        # for every row (28 ms for 7,500 ids, against 3 ms).
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(groups)])
        ids = [pk for (pk,) in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} (id, run_id, section_id, kind, size, similarity) FROM STDIN") as copy:
            copy.write(
                "".join(
                    f"{pk}\t{run.pk}\t{g.section_id}\t{g.kind}\t{len(g.comment_ids)}\t{float(g.similarity)!r}\n"
                    for pk, g in zip(ids, groups, strict=True)
                )
            )
        with cursor.cursor.copy(f"COPY {through} (duplicategroup_id, comment_id) FROM STDIN") as copy:
            copy.write("".join(f"{pk}\t{cid}\n" for pk, g in zip(ids, groups, strict=True) for cid in g.comment_ids))


# --- computing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSpec:
    section_id: int
    kind: str
    comment_ids: tuple[int, ...]
    similarity: float


@dataclass
class Computed:
    result: dict
    groups: list[GroupSpec] = field(default_factory=list)
    # The sections' comment ids in reading order, one section after the other (ConsolidationListing).
    listed: list[int] | np.ndarray = field(default_factory=list)
    # The campaigns as selectors_runs.campaigns_of reads them back (kind, size, similarity,
    # section_ids, comment_ids), packed in the run's ConsolidationListing.
    campaigns: list[dict] = field(default_factory=list)
    as_of: datetime | None = None
    comment_count: int = 0
    fingerprint: str = ""


def _threshold() -> float:
    value = float(settings.NEAR_DUPLICATE_THRESHOLD)
    if not 0 < value <= 100:
        raise ImproperlyConfigured("NEAR_DUPLICATE_THRESHOLD must be above 0 and at most 100.")
    return value


def compute_consolidation(*, engagement_round: EngagementRound, on_progress=None) -> Computed:
    """Everything a run stores, computed from the database as it is now. Writes nothing.

    The counts come from SQL (counting.consolidation_counts); the bodies are read only to group.
    """
    threshold = _threshold()
    counted = counting.consolidation_counts(
        round_id=engagement_round.pk, consultation_id=engagement_round.consultation_id
    )
    rows = list(
        Comment.objects.filter(round=engagement_round, status=Comment.Status.SUBMITTED)
        .order_by("section__position", "section_id", F("position_start").asc(nulls_last=True), "created_at", "id")
        .values("id", "section_id", "body", "proposed_change")
    )
    by_section: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_section[row["section_id"]].append(row)
    if on_progress:
        on_progress(PROGRESS_LOADED)
    groups: list[GroupSpec] = []
    last_progress = PROGRESS_LOADED
    ids = counting.section_comment_ids(round_id=engagement_round.pk)
    for section in counted.sections:
        section["comment_ids"] = ids[section["id"]]
    for index, section in enumerate(counted.sections, start=1):
        groups.extend(duplicate_groups(section_id=section["id"], rows=by_section[section["id"]], threshold=threshold))
        progress = PROGRESS_LOADED + (PROGRESS_COMPUTED - PROGRESS_LOADED) * index // len(counted.sections)
        if on_progress and progress != last_progress:
            on_progress(progress)
            last_progress = progress
    campaigns = grouping.campaigns([_item(row) for row in rows], threshold=threshold)
    return assemble(counted, groups, campaigns, threshold=threshold)


def assemble(
    counted: counting.RoundCounts,
    groups: Sequence[GroupSpec],
    campaigns: Sequence[grouping.Group],
    *,
    threshold: float,
    listed: np.ndarray | None = None,
) -> Computed:
    """The run's result from its counts, its per-section groups and its campaigns.

    `listed`: the sections' comment ids one after the other, if the caller has them as one array.
    """
    groups_of: dict[int, list[GroupSpec]] = defaultdict(list)
    for g in groups:
        groups_of[g.section_id].append(g)
    ordered = [g for section in counted.sections for g in groups_of[section["id"]]]
    result = {
        "schema": RESULT_SCHEMA,
        "threshold": threshold,
        "totals": {
            **counted.totals,
            "exact_groups": sum(g.kind == DuplicateGroup.Kind.EXACT for g in ordered),
            "near_groups": sum(g.kind == DuplicateGroup.Kind.NEAR for g in ordered),
            "grouped_comments": sum(len(g.comment_ids) for g in ordered),
            "campaigns": len(campaigns),
            "campaign_comments": sum(len(g.ids) for g in campaigns),
        },
        "count_columns": list(counting.COUNT_COLUMNS),
        "counts": counted.counts,
        "sections": [
            {key: value for key, value in section.items() if key != "comment_ids"} for section in counted.sections
        ],
        "organisations": counted.organisations,
        "hidden_ids": counted.hidden_ids,
        "national_positions": counted.national_positions,
    }
    return Computed(
        result=result,
        groups=ordered,
        listed=(
            listed if listed is not None else [cid for section in counted.sections for cid in section["comment_ids"]]
        ),
        campaigns=[
            {
                "kind": g.kind,
                "size": len(g.ids),
                "similarity": g.similarity,
                "section_ids": list(g.section_ids),
                "comment_ids": list(g.ids),
            }
            for g in campaigns
        ],
        as_of=counted.as_of,
        comment_count=counted.comment_count,
        fingerprint=counted.fingerprint,
    )


# --- duplicates ---------------------------------------------------------------------------


def _item(row: Mapping[str, Any]) -> grouping.Item:
    return grouping.Item(id=row["id"], section_id=row["section_id"], text=f"{row['body']}\n{row['proposed_change']}")


def duplicate_groups(
    *,
    section_id: int,
    rows: Sequence[Mapping[str, Any]],
    threshold: float,
    sketches: grouping.Sketches | None = None,
) -> list[GroupSpec]:
    """Identical and near-identical comments on one section (body and proposed change together).

    See consolidation.grouping: each comment is in at most one group; a near group holds every
    comment of its texts and records its lowest pairwise similarity. Rows are in section order;
    groups are largest first, then in the order of their first comment.
    """
    return [
        GroupSpec(section_id, g.kind, g.ids, g.similarity)
        for g in grouping.group_items([_item(row) for row in rows], threshold=threshold, sketches=sketches)
    ]
