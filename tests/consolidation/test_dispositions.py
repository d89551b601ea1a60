"""Disposition services: consultants propose, the secretariat decides, once the round has closed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from audit.models import AuditEntry
from comments.models import Comment
from config.errors import StaleWriteError
from consolidation.models import ConsolidationRun, Disposition, DuplicateGroup, JobStatus
from consolidation.services.dispositions import (
    BULK_MAX,
    disposition_approve_proposal,
    disposition_propose,
    disposition_record,
    disposition_record_group,
    disposition_record_many,
)
from consultations.models import EngagementRound, RoundExtension
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.rounds import closed_round_on

A, AP, N, NA = (
    Disposition.Decision.ACCEPTED,
    Disposition.Decision.ACCEPTED_IN_PART,
    Disposition.Decision.NOTED,
    Disposition.Decision.NOT_ACCEPTED,
)


@pytest.fixture
def comment(closed_round, clause, vn_delegate):
    return CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)


@pytest.fixture
def next_version(consultation, version):
    """Version 0.2, with the same sections (the stable keys follow them)."""
    newer = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    for old in version.sections.order_by("position"):
        factories.SectionFactory(
            version=newer, key=old.key, kind=old.kind, number=old.number, heading=old.heading, position=old.position
        )
    return newer


def make_group(engagement_round, section, comments, kind=DuplicateGroup.Kind.NEAR):
    run = ConsolidationRun.objects.filter(round=engagement_round, status=JobStatus.DONE).first()
    if run is None:
        run = ConsolidationRun.objects.create(
            round=engagement_round, status=JobStatus.DONE, progress=100, finished_at=timezone.now()
        )
    group = DuplicateGroup.objects.create(run=run, section=section, kind=kind, size=len(comments), similarity=92.0)
    group.comments.set(comments)
    return group


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def snapshot():
    return list(Disposition.objects.order_by("id").values()), AuditEntry.objects.count()


# --- propose, approve, change ---------------------------------------------------------------


def test_consultant_proposes_without_deciding(consultant, comment):
    disposition = disposition_propose(actor=consultant, comment=comment, decision=AP, response="Partly, see 1.1.1.")

    disposition.refresh_from_db()
    assert (disposition.proposed_decision, disposition.proposed_response) == (AP, "Partly, see 1.1.1.")
    assert disposition.proposed_by == consultant and disposition.proposed_at is not None
    assert disposition.decision == "" and not disposition.is_decided
    assert disposition.revision == 1
    assert actions() == ["disposition.proposed"]


def test_secretariat_approves_the_proposal_as_it_stands(consultant, secretariat, comment):
    disposition_propose(actor=consultant, comment=comment, decision=AP, response="Partly: the year is added.")

    disposition = disposition_approve_proposal(actor=secretariat, comment=comment)

    disposition.refresh_from_db()
    assert disposition.decision == disposition.proposed_decision == AP
    assert disposition.response == disposition.proposed_response == "Partly: the year is added."
    assert disposition.decided_by == secretariat and disposition.proposed_by == consultant
    assert disposition.revision == 2
    assert actions() == ["disposition.proposed", "disposition.recorded"]
    assert AuditEntry.objects.get(action="disposition.recorded").data["proposed_decision"] == AP


def test_secretariat_changes_the_proposal_when_recording(consultant, secretariat, comment):
    disposition_propose(actor=consultant, comment=comment, decision=A, response="Accepted.")

    disposition = disposition_record(
        actor=secretariat, comment=comment, decision=NA, response="Out of the plan's reach.", expected_revision=1
    )

    disposition.refresh_from_db()
    assert (disposition.decision, disposition.response) == (NA, "Out of the plan's reach.")
    # The proposal stays on record next to the decision.
    assert (disposition.proposed_decision, disposition.proposed_response) == (A, "Accepted.")
    assert disposition.revision == 2


def test_every_write_bumps_the_revision(secretariat, comment):
    first = disposition_record(actor=secretariat, comment=comment, decision=N, response="", expected_revision=0)
    second = disposition_record(actor=secretariat, comment=comment, decision=A, response="Yes.", expected_revision=1)
    assert (first.revision, second.revision) == (1, 2)
    assert actions() == ["disposition.recorded", "disposition.recorded"]


def test_a_stale_revision_is_refused_and_changes_nothing(secretariat, comment):
    disposition_record(actor=secretariat, comment=comment, decision=N, response="Noted.")
    before = snapshot()

    with pytest.raises(StaleWriteError):
        disposition_record(actor=secretariat, comment=comment, decision=A, response="Yes.", expected_revision=0)

    assert snapshot() == before


def test_approving_without_a_proposal_is_refused(secretariat, comment):
    with pytest.raises(ValidationError, match="no proposal"):
        disposition_approve_proposal(actor=secretariat, comment=comment)
    assert snapshot() == ([], 0)


def test_site_admin_records(site_admin, comment):
    disposition = disposition_record(actor=site_admin, comment=comment, decision=N, response="")
    assert disposition.decided_by == site_admin


# --- who ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["vn_delegate", "vn_focal_point"])
def test_the_commenting_delegation_cannot_propose_or_record_on_its_own_comment(personas, persona, comment):
    for service in (disposition_propose, disposition_record):
        with pytest.raises(PermissionDenied):
            service(actor=personas[persona], comment=comment, decision=A, response="We accept ourselves.")
    assert snapshot() == ([], 0)


@pytest.mark.parametrize("persona", ["th_delegate", "partner", "outsider"])
def test_who_cannot_see_the_comment_gets_404(personas, persona, comment):
    for service in (disposition_propose, disposition_record):
        with pytest.raises(Http404):
            service(actor=personas[persona], comment=comment, decision=A, response="")
    assert snapshot() == ([], 0)


def test_consultant_cannot_record_or_approve(consultant, comment):
    disposition_propose(actor=consultant, comment=comment, decision=A, response="")
    before = snapshot()
    with pytest.raises(PermissionDenied):
        disposition_record(actor=consultant, comment=comment, decision=A, response="")
    with pytest.raises(PermissionDenied):
        disposition_approve_proposal(actor=consultant, comment=comment)
    assert snapshot() == before


# --- which comments, when ---------------------------------------------------------------------


def test_withdrawn_comment_gets_no_disposition(secretariat, consultant, closed_round, clause, vn_delegate):
    withdrawn = CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.WITHDRAWN)
    with pytest.raises(ValidationError, match="withdrawn"):
        disposition_record(actor=secretariat, comment=withdrawn, decision=N, response="")
    with pytest.raises(ValidationError, match="withdrawn"):
        disposition_propose(actor=consultant, comment=withdrawn, decision=N, response="")
    assert snapshot() == ([], 0)


def test_draft_comment_gets_no_disposition(secretariat, closed_round, clause, vn_delegate):
    # The secretariat's own draft is visible to it: a clear refusal.
    own_draft = CommentFactory(round=closed_round, section=clause, author=secretariat, status=Comment.Status.DRAFT)
    with pytest.raises(ValidationError, match="draft"):
        disposition_record(actor=secretariat, comment=own_draft, decision=N, response="")
    # A delegation's draft is not even visible to the secretariat: 404.
    vn_draft = CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.DRAFT)
    with pytest.raises(Http404):
        disposition_record(actor=secretariat, comment=vn_draft, decision=N, response="")
    assert snapshot() == ([], 0)


@pytest.mark.parametrize("persona", ["secretariat", "consultant", "admin"])
def test_no_disposition_while_the_round_is_open(personas, persona, open_round, clause, vn_delegate):
    comment = CommentFactory(round=open_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)
    with pytest.raises(ValidationError, match="The round is still open"):
        disposition_propose(actor=personas[persona], comment=comment, decision=N, response="")
    if persona != "consultant":
        with pytest.raises(ValidationError, match="The round is still open"):
            disposition_record(actor=personas[persona], comment=comment, decision=N, response="")
    assert snapshot() == ([], 0)


def test_no_disposition_while_an_extension_keeps_the_round_open(secretariat, version, clause, vn_delegate, orgs):
    """Past closes_at, but Thailand's extension runs: still open for someone."""
    now = timezone.now()
    engagement_round = closed_round_on(
        version, state=EngagementRound.State.OPEN, closed_at=None, final_closes_at=now + timedelta(days=2)
    )
    RoundExtension.objects.create(round=engagement_round, organisation=orgs["th"], closes_at=now + timedelta(days=2))
    comment = CommentFactory(
        round=engagement_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED
    )
    with pytest.raises(ValidationError, match="The round is still open"):
        disposition_record(actor=secretariat, comment=comment, decision=N, response="")
    assert snapshot() == ([], 0)


def test_a_round_past_its_deadline_takes_dispositions_before_beat_closes_it(secretariat, version, clause, vn_delegate):
    engagement_round = closed_round_on(version, state=EngagementRound.State.OPEN, closed_at=None)
    comment = CommentFactory(
        round=engagement_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED
    )
    assert disposition_record(actor=secretariat, comment=comment, decision=N, response="").decision == N


def test_a_comment_of_another_consultation_is_404(secretariat, comment, other_consultation):
    with pytest.raises(Http404):
        disposition_record(actor=secretariat, comment=comment, decision=N, response="", consultation=other_consultation)
    assert snapshot() == ([], 0)


# --- input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["", "approved", "ACCEPTED", None])
def test_unknown_decision_is_refused(secretariat, consultant, comment, decision):
    with pytest.raises(ValidationError):
        disposition_record(actor=secretariat, comment=comment, decision=decision, response="")
    with pytest.raises(ValidationError):
        disposition_propose(actor=consultant, comment=comment, decision=decision, response="")
    assert snapshot() == ([], 0)


def test_response_is_at_most_10000_characters(secretariat, comment):
    disposition_record(actor=secretariat, comment=comment, decision=N, response="x" * 10_000)
    before = snapshot()
    with pytest.raises(ValidationError, match="10,000"):
        disposition_record(actor=secretariat, comment=comment, decision=A, response="x" * 10_001)
    assert snapshot() == before


def test_section_change_in_a_later_version_is_recorded(secretariat, comment, next_version):
    changed = next_version.sections.get(key="infra-5g")
    disposition = disposition_record(
        actor=secretariat, comment=comment, decision=A, response="Year added.", section_change=changed
    )
    disposition.refresh_from_db()
    assert disposition.section_change == changed


def test_section_change_in_the_same_version_is_refused(secretariat, comment, clause, next_version):
    with pytest.raises(ValidationError, match="later version"):
        disposition_record(actor=secretariat, comment=comment, decision=A, response="", section_change=clause)
    assert snapshot() == ([], 0)


def test_section_change_in_an_earlier_version_is_refused(secretariat, consultation, version, vn_delegate):
    later = factories.DraftVersionFactory(consultation=consultation, number="0.3", major=0, minor=3)
    later_clause = factories.SectionFactory(version=later, key="infra-5g", position=1)
    engagement_round = closed_round_on(later)
    comment = CommentFactory(
        round=engagement_round, section=later_clause, author=vn_delegate, status=Comment.Status.SUBMITTED
    )
    earlier = version.sections.get(key="infra-5g")
    with pytest.raises(ValidationError, match="later version"):
        disposition_record(actor=secretariat, comment=comment, decision=A, response="", section_change=earlier)
    assert snapshot() == ([], 0)


def test_section_change_in_another_consultation_is_refused(secretariat, comment, other_consultation):
    foreign = factories.DraftVersionFactory(consultation=other_consultation, number="9.0", major=9, minor=0)
    foreign_section = factories.SectionFactory(version=foreign, key="x", position=1)
    with pytest.raises(ValidationError, match="later version"):
        disposition_record(actor=secretariat, comment=comment, decision=A, response="", section_change=foreign_section)
    assert snapshot() == ([], 0)


# --- duplicate groups ---------------------------------------------------------------------------


@pytest.fixture
def group_members(closed_round, clause, vn_delegate, th_delegate, partner):
    return [
        CommentFactory(round=closed_round, section=clause, author=author, status=Comment.Status.SUBMITTED)
        for author in (vn_delegate, th_delegate, partner)
    ]


def test_group_disposition_applies_to_every_member(secretariat, consultant, closed_round, clause, group_members):
    disposition_propose(actor=consultant, comment=group_members[0], decision=N, response="Noted.")
    group = make_group(closed_round, clause, group_members)

    recorded = disposition_record_group(actor=secretariat, group=group, decision=AP, response="Partly accepted.")

    assert len(recorded) == 3
    stored = Disposition.objects.filter(comment__in=group_members)
    assert {(d.decision, d.response, d.decided_by_id) for d in stored} == {(AP, "Partly accepted.", secretariat.pk)}
    assert stored.get(comment=group_members[0]).revision == 2
    assert stored.get(comment=group_members[0]).proposed_decision == N
    assert actions().count("disposition.group_recorded") == 3


def test_group_with_a_withdrawn_comment_is_refused_and_nothing_changes(
    secretariat, closed_round, clause, group_members, vn_delegate
):
    disposition_record(actor=secretariat, comment=group_members[1], decision=N, response="Noted earlier.")
    withdrawn = CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.WITHDRAWN)
    group = make_group(closed_round, clause, [*group_members, withdrawn])
    before = snapshot()

    with pytest.raises(ValidationError, match=withdrawn.number):
        disposition_record_group(actor=secretariat, group=group, decision=A, response="All accepted.")

    assert snapshot() == before
    assert not Disposition.objects.filter(comment__in=[group_members[0], group_members[2], withdrawn]).exists()


def test_group_disposition_needs_the_secretariat(consultant, closed_round, clause, group_members):
    group = make_group(closed_round, clause, group_members)
    with pytest.raises(PermissionDenied):
        disposition_record_group(actor=consultant, group=group, decision=A, response="")
    assert snapshot() == ([], 0)


def test_group_disposition_while_the_round_is_open_is_refused(secretariat, open_round, clause, vn_delegate):
    members = [
        CommentFactory(round=open_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)
        for _ in range(2)
    ]
    group = make_group(open_round, clause, members)
    with pytest.raises(ValidationError, match="The round is still open"):
        disposition_record_group(actor=secretariat, group=group, decision=A, response="")
    assert snapshot() == ([], 0)


def test_group_of_another_consultation_is_404(secretariat, closed_round, clause, group_members, other_consultation):
    group = make_group(closed_round, clause, group_members)
    with pytest.raises(Http404):
        disposition_record_group(
            actor=secretariat, group=group, decision=A, response="", consultation=other_consultation
        )
    assert snapshot() == ([], 0)


# --- one decision for a selection -----------------------------------------------------------


def selection(comments, revisions=None):
    """{id: revision seen} as the page posts it (0: no disposition yet)."""
    return {c.pk: (revisions or {}).get(c.pk, 0) for c in comments}


def test_one_decision_for_the_selection_is_recorded_on_each_and_audited(
    secretariat, consultant, closed_round, group_members
):
    disposition_propose(actor=consultant, comment=group_members[0], decision=N, response="Noted.")

    recorded = disposition_record_many(
        actor=secretariat,
        engagement_round=closed_round,
        comments=selection(group_members, {group_members[0].pk: 1}),
        decision=NA,
        response="Not in this version.",
    )

    assert len(recorded) == 3
    stored = Disposition.objects.filter(comment__in=group_members)
    assert {(d.decision, d.response, d.decided_by_id) for d in stored} == {(NA, "Not in this version.", secretariat.pk)}
    assert stored.get(comment=group_members[0]).proposed_decision == N  # the proposal stays on record
    assert actions().count("disposition.bulk_recorded") == 3
    entry = AuditEntry.objects.filter(action="disposition.bulk_recorded").first()
    assert entry.data["decision"] == NA and entry.data["selected"] == 3


def test_selection_changed_since_the_page_was_read_is_412_and_nothing_changes(secretariat, closed_round, group_members):
    disposition_record(actor=secretariat, comment=group_members[1], decision=N, response="Decided meanwhile.")
    before = snapshot()

    with pytest.raises(StaleWriteError, match=group_members[1].number):
        disposition_record_many(
            actor=secretariat,
            engagement_round=closed_round,
            comments=selection(group_members),  # saw no disposition on any of them
            decision=A,
            response="",
        )

    assert snapshot() == before


def test_selection_with_a_withdrawn_comment_is_refused_whole(
    secretariat, closed_round, clause, group_members, vn_delegate
):
    withdrawn = CommentFactory(round=closed_round, section=clause, author=vn_delegate, status=Comment.Status.WITHDRAWN)
    with pytest.raises(ValidationError, match=withdrawn.number):
        disposition_record_many(
            actor=secretariat,
            engagement_round=closed_round,
            comments=selection([*group_members, withdrawn]),
            decision=A,
            response="",
        )
    assert snapshot() == ([], 0)


def test_selection_with_a_comment_of_another_round_is_404_and_nothing_changes(
    secretariat, closed_round, group_members, version, clause, vn_delegate
):
    elsewhere = closed_round_on(version, title="Another round")
    foreign = CommentFactory(round=elsewhere, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)
    with pytest.raises(Http404):
        disposition_record_many(
            actor=secretariat,
            engagement_round=closed_round,
            comments=selection([*group_members, foreign]),
            decision=A,
            response="",
        )
    assert snapshot() == ([], 0)


def test_selection_of_a_missing_comment_is_404(secretariat, closed_round, group_members):
    with pytest.raises(Http404):
        disposition_record_many(
            actor=secretariat,
            engagement_round=closed_round,
            comments={**selection(group_members), 10**9: 0},
            decision=A,
            response="",
        )
    assert snapshot() == ([], 0)


def test_selection_needs_the_secretariat(consultant, closed_round, group_members):
    with pytest.raises(PermissionDenied):
        disposition_record_many(
            actor=consultant, engagement_round=closed_round, comments=selection(group_members), decision=A, response=""
        )
    assert snapshot() == ([], 0)


def test_selection_while_the_round_is_open_is_refused(secretariat, open_round, clause, vn_delegate):
    members = [
        CommentFactory(round=open_round, section=clause, author=vn_delegate, status=Comment.Status.SUBMITTED)
        for _ in range(2)
    ]
    with pytest.raises(ValidationError, match="The round is still open"):
        disposition_record_many(
            actor=secretariat, engagement_round=open_round, comments=selection(members), decision=A, response=""
        )
    assert snapshot() == ([], 0)


def test_selection_of_another_consultation_is_404(secretariat, closed_round, group_members, other_consultation):
    with pytest.raises(Http404):
        disposition_record_many(
            actor=secretariat,
            engagement_round=closed_round,
            comments=selection(group_members),
            decision=A,
            response="",
            consultation=other_consultation,
        )
    assert snapshot() == ([], 0)


def test_selection_is_bounded_and_not_empty(secretariat, closed_round, group_members):
    too_many = {pk: 0 for pk in range(1, BULK_MAX + 2)}
    with pytest.raises(ValidationError, match=f"At most {BULK_MAX} comments"):
        disposition_record_many(
            actor=secretariat, engagement_round=closed_round, comments=too_many, decision=A, response=""
        )
    with pytest.raises(ValidationError, match="Select at least one comment"):
        disposition_record_many(actor=secretariat, engagement_round=closed_round, comments={}, decision=A, response="")
    with pytest.raises(ValidationError):
        disposition_record_many(
            actor=secretariat,
            engagement_round=closed_round,
            comments=selection(group_members),
            decision="maybe",
            response="",
        )
    assert snapshot() == ([], 0)
