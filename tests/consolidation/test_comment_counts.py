"""The comment counts the feedback page reads (CommentCount, kept by PostgreSQL triggers).

They must equal a GROUP BY of the comments after any mix of writes, whoever writes (the services,
bulk_create, queryset updates, deletes), also when two transactions write at once; the page built
on them must list exactly what the database would list, page after page, and cost the same
number of queries at two sizes.
"""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments import services as comment_services
from comments.models import Comment
from consolidation import selectors_feedback as selectors
from consolidation.models import CommentCount, ConsolidationRun, Disposition, DuplicateGroup, JobStatus
from consolidation.services import counts
from consolidation.services import dispositions as disposition_services
from consultations.models import EngagementRound, Role
from tests import factories

pytestmark = pytest.mark.postgres

A, N, NA = Disposition.Decision.ACCEPTED, Disposition.Decision.NOTED, Disposition.Decision.NOT_ACCEPTED


def close(engagement_round) -> EngagementRound:
    past = timezone.now() - timedelta(hours=1)
    EngagementRound.objects.filter(pk=engagement_round.pk).update(
        state=EngagementRound.State.CLOSED, closes_at=past, final_closes_at=past, closed_at=past
    )
    return EngagementRound.objects.select_related("consultation", "version").get(pk=engagement_round.pk)


def kept(engagement_round) -> dict[tuple, int]:
    """The table's non-empty cells of the round."""
    rows = CommentCount.objects.filter(round=engagement_round, n__gt=0)
    return {
        (r.section_id, r.organisation_id, r.status, r.type, r.is_hidden, r.disposition): r.n
        for r in rows.order_by("pk")
    }


def actual(engagement_round) -> dict[tuple, int]:
    """The same cells counted from the comments, in Python."""
    found: dict[tuple, int] = {}
    for c in Comment.objects.filter(round=engagement_round).select_related("disposition"):
        d = getattr(c, "disposition", None)
        state = "none" if d is None else (d.decision or ("proposed" if d.proposed_decision else "none"))
        key = (c.section_id, c.organisation_id, c.status, c.type, c.is_hidden, state)
        found[key] = found.get(key, 0) + 1
    return found


def make_group(engagement_round, section, comments) -> DuplicateGroup:
    run = ConsolidationRun.objects.create(
        round=engagement_round, status=JobStatus.DONE, progress=100, finished_at=timezone.now()
    )
    group = DuplicateGroup.objects.create(
        run=run, section=section, kind=DuplicateGroup.Kind.NEAR, size=len(comments), similarity=90.0
    )
    group.comments.set(comments)
    return group


def test_counts_equal_a_group_by_after_a_mix_of_writes(personas, open_round, clause, other_clause):
    vn, th, partner, secretariat, consultant = (
        personas["vn_delegate"],
        personas["th_delegate"],
        personas["partner"],
        personas["secretariat"],
        personas["consultant"],
    )

    def write(actor, section, kind="te", *, submit=True, body="A comment."):
        return comment_services.comment_create(
            actor=actor, engagement_round=open_round, section=section, comment_type=kind, body=body, submit=submit
        )

    a = write(vn, clause)
    b = write(vn, clause, "ed")
    c = write(th, other_clause)
    d = write(partner, clause, "ge")
    e = write(th, clause)
    draft = write(vn, other_clause, submit=False)
    thrown_away = write(th, other_clause, submit=False)
    comment_services.comment_update(actor=vn, comment=a, comment_type="ge", body="Now general.")  # type moves
    comment_services.comment_submit(actor=vn, comment=draft)  # draft -> submitted
    comment_services.comment_withdraw(actor=th, comment=c)  # submitted -> withdrawn
    comment_services.comment_hide(actor=secretariat, comment=d, reason="Off topic.")  # hidden
    comment_services.comment_hide(actor=secretariat, comment=e, reason="Duplicate.")
    comment_services.comment_unhide(actor=secretariat, comment=e)  # and back
    Comment.objects.filter(pk=thrown_away.pk).delete()
    # Writers that bypass the services and Django's signals: a bulk insert and a queryset update.
    imported = Comment.objects.bulk_create(
        Comment(
            round=open_round,
            section=other_clause,
            author=th,
            organisation=th.organisation,
            type="ed",
            body=f"Imported {i}",
            status=Comment.Status.SUBMITTED,
            submitted_at=timezone.now(),
        )
        for i in range(4)
    )
    Comment.objects.filter(pk__in=[imported[0].pk, imported[1].pk]).update(type="te")
    assert counts.count_drift(round_ids=[open_round.pk]) == []

    engagement_round = close(open_round)
    refresh = lambda comment: Comment.objects.get(pk=comment.pk)  # noqa: E731
    disposition_services.disposition_propose(actor=consultant, comment=refresh(a), decision=A, response="Agreed.")
    disposition_services.disposition_propose(actor=consultant, comment=refresh(b), decision=N, response="Noted.")
    disposition_services.disposition_approve_proposal(actor=secretariat, comment=refresh(b))
    disposition_services.disposition_record(actor=secretariat, comment=refresh(e), decision=NA, response="No.")
    disposition_services.disposition_record(
        actor=secretariat, comment=refresh(e), decision=A, response="Yes after all.", expected_revision=1
    )
    group = make_group(engagement_round, other_clause, [imported[2], imported[3]])
    disposition_services.disposition_record_group(actor=secretariat, group=group, decision=N, response="Noted.")
    Disposition.objects.filter(comment=refresh(b)).delete()  # back to no disposition

    assert counts.count_drift(round_ids=[engagement_round.pk]) == []
    assert kept(engagement_round) == actual(engagement_round)
    cells = kept(engagement_round)
    assert cells[(clause.pk, vn.organisation_id, "submitted", "ge", False, "proposed")] == 1  # a
    assert cells[(clause.pk, vn.organisation_id, "submitted", "ed", False, "none")] == 1  # b
    assert cells[(other_clause.pk, th.organisation_id, "withdrawn", "te", False, "none")] == 1  # c
    assert cells[(clause.pk, partner.organisation_id, "submitted", "ge", True, "none")] == 1  # d
    assert cells[(clause.pk, th.organisation_id, "submitted", "te", False, A)] == 1  # e
    assert cells[(other_clause.pk, th.organisation_id, "submitted", "ed", False, N)] == 2  # the group

    # What the page shows from them is what counting the comments shows.
    summary = selectors.disposition_summary(user=secretariat, engagement_round=engagement_round)
    assert summary == {"total": 9, "decided": 3, "proposed": 1}  # a, b, d, e, the draft, 4 imported
    heatmap = selectors.feedback_heatmap(user=secretariat, engagement_round=engagement_round)
    by_cell = (
        Comment.objects.filter(round=engagement_round, status=Comment.Status.SUBMITTED)
        .values("section_id", "organisation_id")
        .annotate(n=Count("id"))
    )
    assert heatmap.counts == {(r["section_id"], r["organisation_id"]): r["n"] for r in by_cell}


def test_the_check_finds_drift_and_the_rebuild_repairs_it(personas, closed_round, clause):
    for _ in range(3):
        factories.SubmittedCommentFactory(round=closed_round, section=clause, author=personas["vn_delegate"])
    assert counts.count_drift() == []
    call_command("comment_counts")  # in step: no error
    # Something that bypasses the triggers (a hand edit, a restore of one table).
    CommentCount.objects.filter(round=closed_round).update(n=7)
    drift = counts.count_drift()
    assert [(d.round_id, d.kept, d.actual) for d in drift] == [(closed_round.pk, 7, 3)]
    with pytest.raises(CommandError, match="1 cell"):
        call_command("comment_counts", "--round", str(closed_round.pk))
    call_command("comment_counts", "--rebuild")
    assert counts.count_drift() == []
    assert selectors.disposition_summary(user=personas["secretariat"], engagement_round=closed_round)["total"] == 3


def test_the_daily_check_rebuilds_only_the_rounds_that_drifted(personas, closed_round, clause, version):
    other_round = factories.ClosedRoundFactory(version=version, title="Other round")
    factories.SubmittedCommentFactory(round=closed_round, section=clause, author=personas["vn_delegate"])
    factories.SubmittedCommentFactory(round=other_round, section=clause, author=personas["vn_delegate"])
    CommentCount.objects.filter(round=other_round).update(n=5)
    untouched = list(CommentCount.objects.filter(round=closed_round).values_list("pk", flat=True))
    assert counts.check_and_repair() == {"cells": 1, "rounds": 1}
    assert counts.count_drift() == []
    assert list(CommentCount.objects.filter(round=closed_round).values_list("pk", flat=True)) == untouched


# --- the page built on the counts ------------------------------------------------------------


def spread(engagement_round, personas, orgs, sections, count: int):
    """`count` submitted comments over the sections and three organisations, a third with a disposition."""
    authors = [personas["vn_delegate"], personas["th_delegate"], personas["partner"]]
    made = Comment.objects.bulk_create(
        Comment(
            round=engagement_round,
            section=sections[(i * 7) % len(sections)],
            author=authors[i % 3],
            organisation=authors[i % 3].organisation,
            type=("ge", "te", "ed")[(i // 3) % 3],
            body=f"Comment {i}",
            status=Comment.Status.SUBMITTED,
            submitted_at=timezone.now(),
        )
        for i in range(count)
    )
    Disposition.objects.bulk_create(
        Disposition(comment=c, decision=N) if i % 2 else Disposition(comment=c, proposed_decision=A)
        for i, c in enumerate(made[::3])
    )
    return made


def every_page(user, engagement_round, filters) -> list[int]:
    listed, number = [], 1
    while True:
        page = selectors.feedback_page(
            user=user, engagement_round=engagement_round, filters=filters, run=None, page_number=number
        )
        listed += [item.id for item in page.object_list]
        if not page.has_next():
            return listed
        number += 1


@pytest.mark.parametrize(
    "filters",
    [
        selectors.FeedbackFilters(),
        selectors.FeedbackFilters(comment_type="te"),
        selectors.FeedbackFilters(disposition="none"),
        selectors.FeedbackFilters(disposition="proposed", comment_type="ed"),
        selectors.FeedbackFilters(disposition=N),
        selectors.FeedbackFilters(organisation_id=-1),  # replaced by Thailand's id below
    ],
)
def test_the_counted_pages_list_what_the_database_lists_in_the_same_order(
    personas, closed_round, version, orgs, filters
):
    if filters.organisation_id == -1:
        filters = selectors.FeedbackFilters(organisation_id=orgs["th"].pk)
    sections = list(version.sections.order_by("position"))
    spread(closed_round, personas, orgs, sections, 130)
    secretariat = personas["secretariat"]
    assert selectors.reads_counts(user=secretariat, engagement_round=closed_round)
    expected = list(
        selectors.feedback_comments(
            user=secretariat, engagement_round=closed_round, filters=filters, run=None
        ).values_list("id", flat=True)
    )
    assert expected  # the filter keeps something
    assert every_page(secretariat, closed_round, filters) == expected
    page = selectors.feedback_page(
        user=secretariat, engagement_round=closed_round, filters=filters, run=None, page_number=1
    )
    assert page.paginator.count == len(expected)


def test_a_delegate_who_may_call_the_selectors_gets_only_what_they_see(personas, closed_round, version, orgs):
    """Only organisers read the counts (they see every submitted comment); anyone else is counted."""
    sections = list(version.sections.order_by("position"))
    spread(closed_round, personas, orgs, sections, 12)
    vn = personas["vn_delegate"]
    assert not selectors.reads_counts(user=vn, engagement_round=closed_round)
    heatmap = selectors.feedback_heatmap(user=vn, engagement_round=closed_round)
    assert set(o for _s, o in heatmap.counts) <= {orgs["vn"].pk}  # the round is not "live" for others


def reads_comments(captured) -> list[str]:
    return [q["sql"] for q in captured if '"comments_comment"' in q["sql"]]


def test_heat_map_and_totals_read_no_comment_and_cost_the_same_at_two_sizes(personas, closed_round, version, orgs):
    sections = list(version.sections.order_by("position"))
    secretariat = personas["secretariat"]
    engagement_round = EngagementRound.objects.select_related("version", "consultation").get(pk=closed_round.pk)

    def measure():
        with CaptureQueriesContext(connection) as captured:
            heatmap = selectors.feedback_heatmap(user=secretariat, engagement_round=engagement_round)
            summary = selectors.disposition_summary(user=secretariat, engagement_round=engagement_round)
        return heatmap, summary, captured.captured_queries

    spread(closed_round, personas, orgs, sections, 10)
    measure()  # the viewer's participation is looked up once per request (cached on the user)
    heatmap, summary, small = measure()
    assert heatmap.total == summary["total"] == 10
    spread(closed_round, personas, orgs, sections, 290)
    heatmap, summary, large = measure()
    assert heatmap.total == summary["total"] == 300
    assert len(large) == len(small)
    assert reads_comments(large) == []  # counts only, never the comments


def test_a_page_of_the_list_reads_at_most_its_own_comments(personas, closed_round, version, orgs):
    """The list's comment queries are the page's ids (a limit per cell) and the page's rows by id."""
    sections = list(version.sections.order_by("position"))
    spread(closed_round, personas, orgs, sections, 300)
    secretariat = personas["secretariat"]
    for number in (1, 5, 12):
        with CaptureQueriesContext(connection) as captured:
            page = selectors.feedback_page(
                user=secretariat,
                engagement_round=closed_round,
                filters=selectors.FeedbackFilters(),
                run=None,
                page_number=number,
            )
        assert len(page.object_list) == selectors.PER_PAGE
        comment_queries = reads_comments(captured.captured_queries)
        assert len(comment_queries) == 2
        assert "COUNT(" not in " ".join(comment_queries).upper()
        assert all("LIMIT" in part for part in comment_queries[0].split("UNION ALL"))


# --- concurrency ------------------------------------------------------------------------------


def _in_threads(*jobs):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_cell_lose_no_count(personas, open_round, clause):
    """Eight delegates' comments land on the same cell at the same moment: eight, not fewer."""
    vn = personas["vn_delegate"]
    authors = [vn] + [
        factories.UserFactory(email=f"vn.{i}@example.org", organisation=vn.organisation) for i in range(7)
    ]
    for author in authors[1:]:
        factories.ParticipationFactory(
            consultation=open_round.consultation, user=author, organisation=vn.organisation, role=Role.MEMBER_STATE
        )

    def post(author):
        return lambda: comment_services.comment_create(
            actor=author, engagement_round=open_round, section=clause, comment_type="te", body="Same cell.", submit=True
        )

    _in_threads(*(post(a) for a in authors))
    cell = CommentCount.objects.get(
        round=open_round, section=clause, organisation=vn.organisation, status="submitted", type="te"
    )
    assert cell.n == 8
    assert counts.count_drift() == []


@pytest.mark.django_db(transaction=True)
def test_a_disposition_written_while_its_comment_changes_type_counts_the_new_type(personas, closed_round, clause):
    """Transaction A changes a comment's type and holds its row; B writes the comment's disposition
    meanwhile (raw, without the service's lock). B's trigger waits for A and counts the new type;
    without that wait, B would move the comment out of the old type's cell and the counts would drift."""
    vn = personas["vn_delegate"]
    comment = factories.SubmittedCommentFactory(round=closed_round, section=clause, author=vn, type="te")
    changed, release = threading.Event(), threading.Event()
    b_done = threading.Event()
    errors: list[BaseException] = []

    def a():
        try:
            with transaction.atomic():
                Comment.objects.filter(pk=comment.pk).update(type="ed")
                changed.set()
                release.wait(timeout=10)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def b():
        try:
            changed.wait(timeout=10)
            Disposition.objects.create(comment_id=comment.pk, decision=N)
            b_done.set()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    assert changed.wait(timeout=10)
    assert not b_done.wait(timeout=1)  # B waits for A's row
    release.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert counts.count_drift() == []
    cell = CommentCount.objects.get(
        round=closed_round, section=clause, organisation=vn.organisation, status="submitted", type="ed", disposition=N
    )
    assert cell.n == 1
