"""The counting part of a run is done by PostgreSQL: same numbers as counting the rows one by one."""

import random
import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from comments.models import Comment, CommentSupport
from consolidation.models import Disposition
from consolidation.services import counting
from tests import factories
from tests.helpers.services import require


def _state(comment: Comment) -> str:
    d = getattr(comment, "disposition", None)
    if d is None:
        return "open"
    return d.decision or ("proposed" if d.proposed_decision else "open")


@pytest.fixture
def mixed_round(closed_round, version, vn_delegate, vn_focal_point, th_delegate, partner):
    """300 comments, random types, flags and dispositions, over 6 sections and 3 organisations."""
    sections = [
        factories.SectionFactory(version=version, key=f"count-{n}", number=f"7.{n}", position=60 - n) for n in range(6)
    ]
    authors = [vn_delegate, vn_focal_point, th_delegate, partner]
    randomly = random.Random(7)
    comments = []
    for n in range(300):
        author = randomly.choice(authors)
        comments.append(
            Comment(
                round=closed_round,
                section=randomly.choice(sections),
                author=author,
                organisation_id=author.organisation_id,
                type=randomly.choice(["ge", "te", "ed"]),
                body=f"comment {n}",
                status=randomly.choice(["submitted"] * 8 + ["draft", "withdrawn"]),
                is_hidden=randomly.random() < 0.1,
                is_endorsed=randomly.random() < 0.2,
                revision=randomly.randint(1, 3),
            )
        )
    Comment.objects.bulk_create(comments)
    decisions = [Disposition.Decision.ACCEPTED, Disposition.Decision.NOTED, Disposition.Decision.NOT_ACCEPTED]
    for comment in randomly.sample(comments, 60):
        if randomly.random() < 0.5:
            Disposition.objects.create(comment=comment, decision=randomly.choice(decisions))
        else:
            Disposition.objects.create(comment=comment, proposed_decision=randomly.choice(decisions))
    # Other delegations' support: none, one or two per comment (drafts and withdrawn ones too: not counted).
    supporters = {a.organisation_id: a for a in authors}
    supports = []
    for comment in randomly.sample(comments, 120):
        others = [org for org in sorted(supporters) if org != comment.organisation_id]
        for org in randomly.sample(others, randomly.randint(1, len(others))):
            supports.append(CommentSupport(comment=comment, organisation_id=org, supported_by=supporters[org]))
    CommentSupport.objects.bulk_create(supports)
    return closed_round


def test_sql_counts_equal_counting_every_submitted_comment(mixed_round):
    counted = counting.consolidation_counts(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)

    rows = list(Comment.objects.filter(round=mixed_round, status="submitted").select_related("disposition", "section"))
    cells = Counter((c.section_id, c.organisation_id, c.type, _state(c)) for c in rows)
    assert {(section, org, kind, status): n for section, org, kind, status, n in counted.counts} == cells
    # Listed in section order (position), then organisation, type, state.
    positions = {c.section_id: c.section.position for c in rows}
    keys = [(positions[section], section, org, kind, status) for section, org, kind, status, _n in counted.counts]
    assert keys == sorted(keys)
    assert counted.totals["comments"] == counted.comment_count == len(rows)
    assert counted.totals["hidden"] == sum(c.is_hidden for c in rows)
    assert counted.totals["endorsed"] == sum(c.is_endorsed for c in rows)
    assert counted.totals["by_status"] == dict(sorted(Counter(_state(c) for c in rows).items()))
    assert counted.totals["by_type"] == {t: sum(c.type == t for c in rows) for t in ("ge", "te", "ed")}
    for section in counted.sections:
        mine = [c for c in rows if c.section_id == section["id"]]
        assert section["total"] == len(mine)
        assert section["hidden"] == sum(c.is_hidden for c in mine)
        assert section["by_type"] == {t: sum(c.type == t for c in mine) for t in ("ge", "te", "ed")}
    for org in counted.organisations:
        mine = [c for c in rows if c.organisation_id == org["id"]]
        assert (org["total"], org["endorsed"], org["hidden"]) == (
            len(mine),
            sum(c.is_endorsed for c in mine),
            sum(c.is_hidden for c in mine),
        )
    supports = Counter(CommentSupport.objects.filter(comment__in=rows).values_list("comment_id", flat=True))
    assert supports and counted.totals["supported"] == len(supports)
    assert counted.totals["supports"] == sum(supports.values())
    for section in counted.sections:
        mine = [c.id for c in rows if c.section_id == section["id"]]
        assert (section["supported"], section["supports"]) == (
            sum(1 for i in mine if supports[i]),
            sum(supports[i] for i in mine),
        )
    given = Counter(CommentSupport.objects.filter(comment__in=rows).values_list("organisation_id", flat=True))
    for org in counted.organisations:
        mine = [c.id for c in rows if c.organisation_id == org["id"]]
        assert (org["supported"], org["supports"], org["supports_given"]) == (
            sum(1 for i in mine if supports[i]),
            sum(supports[i] for i in mine),
            given[org["id"]],
        )
    assert counted.hidden_ids == sorted(c.id for c in rows if c.is_hidden)
    endorsed = {p["organisation"]: p["endorsed_ids"] for p in counted.national_positions}
    for org_id, ids in endorsed.items():
        assert ids == sorted(c.id for c in rows if c.is_endorsed and c.organisation_id == org_id)
    assert counted.as_of == max(c.updated_at for c in rows)
    assert counted.fingerprint == counting.current_fingerprint(round_id=mixed_round.pk)


def test_the_fingerprint_changes_with_a_revision_and_not_with_a_draft(mixed_round):
    before = counting.current_fingerprint(round_id=mixed_round.pk)
    Comment.objects.filter(round=mixed_round, status="draft").update(revision=9)
    assert counting.current_fingerprint(round_id=mixed_round.pk) == before
    one = Comment.objects.filter(round=mixed_round, status="submitted").first()
    Comment.objects.filter(pk=one.pk).update(revision=one.revision + 1)
    assert counting.current_fingerprint(round_id=mixed_round.pk) != before


def test_as_of_keeps_the_microseconds_of_the_latest_change(mixed_round):
    latest = Comment.objects.filter(round=mixed_round, status="submitted").aggregate(m=Max("updated_at"))["m"]
    counted = counting.consolidation_counts(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)
    assert counted.as_of == latest


def test_counting_takes_the_same_queries_whatever_the_number_of_comments(mixed_round, vn_delegate):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            counting.consolidation_counts(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)
        return len(captured)

    before = queries()
    section = Comment.objects.filter(round=mixed_round).first().section
    Comment.objects.bulk_create(
        Comment(
            round=mixed_round,
            section=section,
            author=vn_delegate,
            organisation_id=vn_delegate.organisation_id,
            body=f"more {n}",
            status="submitted",
        )
        for n in range(500)
    )
    assert queries() == before


def _submit_elsewhere(comment: Comment) -> None:
    """A comment submitted and committed by another connection (another person, just now)."""

    def submit() -> None:
        try:
            comment.pk = None
            comment.body = "submitted meanwhile"
            comment.save()
        finally:
            connection.close()

    thread = threading.Thread(target=submit)
    thread.start()
    thread.join()


@pytest.mark.django_db(transaction=True)
def test_counts_taken_alongside_describe_the_caller_s_snapshot_not_what_changed_since(mixed_round):
    require(connection.vendor == "postgresql", "the snapshot is exported to a second connection")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        here = counting.consolidation_counts(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)
        _submit_elsewhere(Comment.objects.filter(round=mixed_round, status="submitted").first())

        alongside = counting.counts_alongside(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)()

    assert alongside == here  # the moment the caller's transaction sees, on another connection
    now = counting.consolidation_counts(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)
    assert now.comment_count == here.comment_count + 1
    assert now.fingerprint != here.fingerprint


def test_counts_alongside_a_nested_transaction_are_taken_on_its_own_connection(mixed_round):
    # Inside another transaction (here the test's), a second connection would not see its writes.
    Comment.objects.filter(round=mixed_round, status="submitted").update(type="ed")

    alongside = counting.counts_alongside(round_id=mixed_round.pk, consultation_id=mixed_round.consultation_id)()

    assert alongside.totals["by_type"]["ed"] == alongside.comment_count
