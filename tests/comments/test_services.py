"""comments.services: every write to comments, its checks, its history and its audit trail."""

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from audit.models import AuditEntry
from comments import services
from comments.models import BODY_MAX_LENGTH, Comment, CommentFlag, CommentRevision, NationalPosition, Reply
from comments.selectors import get_comment_for_user
from comments.services import AnchorInput
from config.errors import RateLimitedError, RoundClosedError, StaleWriteError
from consultations.models import EngagementRound, Role
from consultations.services import round_close_now, round_extend
from tests import factories

# 17:30 UTC on 30 June 2031 (00:30 on 1 July in Ha Noi and Bangkok).
CLOSES = datetime(2031, 6, 30, 17, 30, 0, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


def create(actor, engagement_round, section, **fields):
    defaults = {"comment_type": Comment.Type.TECHNICAL, "body": "Name the 2028 target for rural areas too."}
    return services.comment_create(actor=actor, engagement_round=engagement_round, section=section, **defaults | fields)


def edit(actor, comment, body, **fields):
    return services.comment_update(
        actor=actor, comment=comment, comment_type=comment.type, body=body, keep_anchor=True, **fields
    )


def snapshot() -> dict:
    """Everything a comment write can change, to compare before and after a refused write."""
    return {
        "comments": list(Comment.objects.order_by("pk").values()),
        "revisions": list(CommentRevision.objects.order_by("pk").values()),
        "replies": list(Reply.objects.order_by("pk").values()),
        "flags": list(CommentFlag.objects.order_by("pk").values()),
        "positions": list(NationalPosition.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values()),
    }


def audit_actions(comment) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="comments.comment", target_id=str(comment.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.fixture
def live_round(make_round):
    return make_round(visibility=EngagementRound.Visibility.LIVE)


@pytest.fixture
def timed_round(make_round):
    """Open round closing at CLOSES."""
    return make_round(opens_at=CLOSES - timedelta(days=14), closes_at=CLOSES, final_closes_at=CLOSES)


# --- lifecycle ----------------------------------------------------------------------------


def test_lifecycle_keeps_every_version_in_the_history(open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, body="First text.", proposed_change="Add 'and rural'.")
    assert (comment.status, comment.revision) == (Comment.Status.DRAFT, 1)
    first_entry = CommentRevision.objects.filter(comment=comment).values().get()

    comment = edit(vn_delegate, comment, "Second text.", proposed_change="Add 'and rural'.", expected_revision=1)
    comment = services.comment_submit(actor=vn_delegate, comment=comment, expected_revision=2)
    assert comment.status == Comment.Status.SUBMITTED
    assert comment.submitted_at is not None
    comment = edit(vn_delegate, comment, "Third text, after submitting.", expected_revision=3)
    comment = services.comment_withdraw(actor=vn_delegate, comment=comment, expected_revision=4)

    stored = Comment.objects.get(pk=comment.pk)  # the record stays
    assert stored.status == Comment.Status.WITHDRAWN
    assert stored.withdrawn_at is not None
    assert stored.body == "Third text, after submitting."
    history = list(
        CommentRevision.objects.filter(comment=comment)
        .order_by("number")
        .values_list("number", "action", "status", "body", "actor")
    )
    assert history == [
        (1, "created", "draft", "First text.", vn_delegate.pk),
        (2, "edited", "draft", "Second text.", vn_delegate.pk),
        (3, "submitted", "submitted", "Second text.", vn_delegate.pk),
        (4, "edited", "submitted", "Third text, after submitting.", vn_delegate.pk),
        (5, "withdrawn", "withdrawn", "Third text, after submitting.", vn_delegate.pk),
    ]
    # The first entry was never rewritten.
    assert CommentRevision.objects.filter(pk=first_entry["id"]).values().get() == first_entry
    assert audit_actions(comment) == [
        "comment.created",
        "comment.edited",
        "comment.submitted",
        "comment.edited",
        "comment.withdrawn",
    ]


def test_create_submitted_at_once(open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, submit=True)

    assert comment.status == Comment.Status.SUBMITTED
    assert list(comment.revisions.values_list("action", flat=True)) == ["submitted"]
    assert audit_actions(comment) == ["comment.submitted"]


def test_withdrawn_comment_can_no_longer_be_edited_submitted_or_withdrawn(open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, submit=True)
    comment = services.comment_withdraw(actor=vn_delegate, comment=comment)
    before = snapshot()

    with pytest.raises(ValidationError):
        edit(vn_delegate, comment, "Changed my mind.")
    with pytest.raises(ValidationError):
        services.comment_submit(actor=vn_delegate, comment=comment)
    with pytest.raises(ValidationError):
        services.comment_withdraw(actor=vn_delegate, comment=comment)
    assert snapshot() == before


def test_submitted_comment_cannot_be_submitted_twice(open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, submit=True)

    with pytest.raises(ValidationError):
        services.comment_submit(actor=vn_delegate, comment=comment)
    assert comment.revisions.count() == 1


def test_anchored_comment_stores_the_verified_position(open_round, clause, vn_delegate):
    start = clause.body.index("urban areas")

    # The browser's offsets are 3 characters off; the server stores where the quote really is.
    comment = create(
        vn_delegate, open_round, clause, anchor=AnchorInput(exact="urban areas", start=start + 3, end=start + 14)
    )

    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.quote_exact, stored.position_start, stored.position_end) == ("urban areas", start, start + 11)
    assert stored.quote_prefix == "Member states will extend 5G coverage to all "[-32:]


def test_anchor_not_in_the_section_is_refused(open_round, clause, vn_delegate):
    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, clause, anchor=AnchorInput(exact="rural areas", start=45, end=56))

    assert "quote_exact" in excinfo.value.message_dict
    assert not Comment.objects.exists()


# --- who may write ------------------------------------------------------------------------


def test_colleague_cannot_edit_submit_or_withdraw_someone_elses_comment(
    open_round, clause, vn_delegate, vn_focal_point
):
    comment = create(vn_delegate, open_round, clause, body="Mine.")
    before = snapshot()

    # The colleague sees the draft (same delegation) but is not its author.
    with pytest.raises(PermissionDenied):
        edit(vn_focal_point, comment, "Rewritten by a colleague.")
    with pytest.raises(PermissionDenied):
        services.comment_submit(actor=vn_focal_point, comment=comment)
    with pytest.raises(PermissionDenied):
        services.comment_withdraw(actor=vn_focal_point, comment=comment)
    assert snapshot() == before


def test_other_state_cannot_edit_a_comment_it_cannot_see_and_gets_404(open_round, clause, vn_delegate, th_delegate):
    comment = create(vn_delegate, open_round, clause, submit=True)
    before = snapshot()

    with pytest.raises(Http404):
        edit(th_delegate, comment, "Rewritten by Thailand.")
    with pytest.raises(Http404):
        services.comment_withdraw(actor=th_delegate, comment=comment)
    assert snapshot() == before


def test_other_state_cannot_edit_a_comment_it_can_see(live_round, clause, vn_delegate, th_delegate, secretariat):
    comment = create(vn_delegate, live_round, clause, submit=True)
    before = snapshot()

    for intruder in (th_delegate, secretariat):
        with pytest.raises(PermissionDenied):
            edit(intruder, comment, "Rewritten.")
        with pytest.raises(PermissionDenied):
            services.comment_withdraw(actor=intruder, comment=comment)
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["secretariat", "consultant", "admin"])
def test_role_the_round_does_not_admit_cannot_comment(persona, personas, open_round, clause):
    with pytest.raises(PermissionDenied):
        create(personas[persona], open_round, clause)
    assert not Comment.objects.exists()


def test_partner_cannot_comment_in_a_round_for_member_states_only(make_round, clause, partner, vn_delegate):
    engagement_round = make_round(commenting_roles=[Role.MEMBER_STATE])

    with pytest.raises(PermissionDenied):
        create(partner, engagement_round, clause)
    assert not Comment.objects.exists()
    assert create(vn_delegate, engagement_round, clause).pk


def test_partner_comments_in_a_round_open_to_partners(open_round, clause, partner, orgs):
    comment = create(partner, open_round, clause)

    assert comment.organisation == orgs["partner"]


def test_outsider_gets_404_not_a_permission_error(open_round, clause, outsider):
    with pytest.raises(Http404):
        create(outsider, open_round, clause)
    assert not Comment.objects.exists()


def test_comment_on_a_section_of_another_version_is_refused(open_round, consultation, vn_delegate):
    next_version = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2)
    elsewhere = factories.SectionFactory(version=next_version, key="infra-5g", position=3)

    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, elsewhere)

    assert "section" in excinfo.value.message_dict
    assert not Comment.objects.exists()


# --- input limits -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["body", "proposed_change"])
def test_text_of_ten_thousand_characters_is_accepted(field, open_round, clause, vn_delegate):
    text = "đ" * BODY_MAX_LENGTH

    comment = create(vn_delegate, open_round, clause, **{field: text})

    assert BODY_MAX_LENGTH == 10_000
    assert getattr(Comment.objects.get(pk=comment.pk), field) == text


@pytest.mark.parametrize("field", ["body", "proposed_change"])
def test_text_of_ten_thousand_and_one_characters_is_refused_and_nothing_is_stored(
    field, open_round, clause, vn_delegate
):
    before = snapshot()

    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, clause, **{field: "đ" * 10_001})

    assert field in excinfo.value.message_dict
    assert "10,001" in excinfo.value.message_dict[field][0]
    assert snapshot() == before


def test_edit_to_oversized_text_is_refused_and_the_comment_is_unchanged(open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, body="Short.")
    before = snapshot()

    with pytest.raises(ValidationError):
        edit(vn_delegate, comment, "x" * 10_001)
    assert snapshot() == before


@pytest.mark.parametrize("field", ["body", "proposed_change"])
def test_nul_character_is_refused(field, open_round, clause, vn_delegate):
    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, clause, **{field: "Before\x00after"})

    assert field in excinfo.value.message_dict
    assert not Comment.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_empty_comment_is_refused(body, open_round, clause, vn_delegate):
    with pytest.raises(ValidationError):
        create(vn_delegate, open_round, clause, body=body)
    assert not Comment.objects.exists()


@pytest.mark.parametrize("comment_type", ["xx", "general", "GE", "", None])
def test_unknown_type_is_refused(comment_type, open_round, clause, vn_delegate):
    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, clause, comment_type=comment_type)

    assert "type" in excinfo.value.message_dict
    assert not Comment.objects.exists()


@pytest.mark.parametrize("comment_type", ["ge", "te", "ed"])
def test_iso_types_are_accepted(comment_type, open_round, clause, vn_delegate):
    assert create(vn_delegate, open_round, clause, comment_type=comment_type).type == comment_type


@pytest.mark.parametrize("language", ["english", "e", "en_GB", "vi-", "v1", "<b>vi</b>", "en GB"])
def test_invalid_language_code_is_refused(language, open_round, clause, vn_delegate):
    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, clause, language=language)

    assert "language" in excinfo.value.message_dict
    assert not Comment.objects.exists()


def test_language_code_too_long_to_store_is_refused_with_a_clear_error(open_round, clause, vn_delegate):
    """'en-abcdefgh-abcdefgh' has the shape of a code but 20 characters: the column holds 16.

    It must be a ValidationError on 'language' (a 400 for the API), not a database error (a 500).
    """
    with pytest.raises(ValidationError) as excinfo:
        create(vn_delegate, open_round, clause, language="en-abcdefgh-abcdefgh")

    assert "language" in excinfo.value.message_dict


@pytest.mark.parametrize("language", ["vi", "th", "en-GB", "zh-Hant-TW", ""])
def test_valid_language_codes_are_kept(language, open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, language=language)

    assert Comment.objects.get(pk=comment.pk).language == language


# --- text in every script -----------------------------------------------------------------

TEXTS = {
    "vietnamese": "Chuyển đổi số bao trùm",
    "vietnamese-decomposed": unicodedata.normalize("NFD", "Chuyển đổi số bao trùm"),
    "thai": "การเปลี่ยนแปลงทางดิจิทัล",
    "emoji": "👍🏽 data",
    "arabic": "التحول الرقمي",
    "german": "Digitalisierungsstrategie",
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_text_round_trips_byte_for_byte(text, open_round, clause, vn_delegate):
    """Every script comes back as given, in NFC (config.text.clean_text): decomposed input is composed."""
    comment = create(vn_delegate, open_round, clause, body=text, proposed_change=f"«{text}»")

    expected = unicodedata.normalize("NFC", text)
    stored = Comment.objects.get(pk=comment.pk)
    assert stored.body.encode("utf-8") == expected.encode("utf-8")
    assert stored.proposed_change.encode("utf-8") == f"«{expected}»".encode()
    assert comment.revisions.get().body.encode("utf-8") == expected.encode("utf-8")


def test_quote_in_right_to_left_text_round_trips(open_round, version, vn_delegate):
    section = factories.SectionFactory(version=version, key="rtl", position=20, body="نحو التحول الرقمي الشامل 👍🏽")
    start = section.body.index("التحول الرقمي")

    comment = create(
        vn_delegate, open_round, section, anchor=AnchorInput(exact="التحول الرقمي", start=start, end=start + 13)
    )

    stored = Comment.objects.get(pk=comment.pk)
    assert stored.quote_exact.encode("utf-8") == "التحول الرقمي".encode()
    assert section.body[stored.position_start : stored.position_end] == "التحول الرقمي"


# --- rate limit ---------------------------------------------------------------------------


def test_thirty_comments_a_minute_are_fine_the_thirty_first_is_rate_limited(open_round, clause, vn_delegate, settings):
    assert settings.COMMENT_RATE_PER_MINUTE == 30
    at = (timezone.now() + timedelta(hours=1)).replace(second=15, microsecond=0)
    with time_machine.travel(at, tick=False):
        for n in range(30):
            create(vn_delegate, open_round, clause, body=f"Comment number {n + 1}.")
        before = snapshot()

        with pytest.raises(RateLimitedError) as excinfo:
            create(vn_delegate, open_round, clause, body="Comment number 31.")

        assert excinfo.value.retry_after == 60
        assert "60 seconds" in excinfo.value.messages[0]
        assert snapshot() == before
    # Crossing into the next calendar minute does not reset the count: any 60 seconds count.
    with time_machine.travel(at + timedelta(seconds=45), tick=False):
        with pytest.raises(RateLimitedError) as excinfo:
            create(vn_delegate, open_round, clause, body="Comment number 31.")
        assert excinfo.value.retry_after == 15
    # A minute after the burst, vn_delegate may write again.
    with time_machine.travel(at + timedelta(seconds=60), tick=False):
        assert create(vn_delegate, open_round, clause, body="Comment number 31.").pk


def test_rate_limit_is_per_person(open_round, clause, vn_delegate, vn_focal_point, settings):
    settings.COMMENT_RATE_PER_MINUTE = 2
    at = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        create(vn_delegate, open_round, clause)
        create(vn_delegate, open_round, clause)
        with pytest.raises(RateLimitedError) as excinfo:
            create(vn_delegate, open_round, clause)
        assert excinfo.value.retry_after == 60

        assert create(vn_focal_point, open_round, clause).pk


# --- the round's window -------------------------------------------------------------------


def test_write_one_second_before_closing_succeeds(timed_round, clause, vn_delegate, vn_focal_point):
    with time_machine.travel(CLOSES - timedelta(minutes=5), tick=False):
        draft = create(vn_delegate, timed_round, clause, body="Draft.")
        submitted = create(vn_delegate, timed_round, clause, body="Submitted.", submit=True)

    with time_machine.travel(CLOSES - ONE_SECOND, tick=False):
        assert create(vn_delegate, timed_round, clause, body="Just in time.").pk
        assert edit(vn_delegate, draft, "Edited just in time.").body == "Edited just in time."
        assert services.comment_submit(actor=vn_delegate, comment=draft).status == Comment.Status.SUBMITTED
        assert services.comment_set_endorsed(actor=vn_focal_point, comment=submitted, endorsed=True).is_endorsed


def test_write_at_the_exact_closing_second_is_refused_and_changes_nothing(
    timed_round, clause, vn_delegate, vn_focal_point
):
    with time_machine.travel(CLOSES - timedelta(minutes=5), tick=False):
        draft = create(vn_delegate, timed_round, clause, body="Draft.")
        submitted = create(vn_delegate, timed_round, clause, body="Submitted.", submit=True)
        services.comment_set_endorsed(actor=vn_focal_point, comment=submitted, endorsed=True)
    before = snapshot()

    with time_machine.travel(CLOSES, tick=False):
        with pytest.raises(RoundClosedError) as excinfo:
            create(vn_delegate, timed_round, clause, body="Too late.")
        message = excinfo.value.messages[0]
        assert "30 June 2031, 17:30" in message
        assert excinfo.value.closed_at == CLOSES

        writes = [
            lambda: edit(vn_delegate, draft, "Too late."),
            lambda: services.comment_submit(actor=vn_delegate, comment=draft),
            lambda: services.comment_withdraw(actor=vn_delegate, comment=submitted),
            lambda: services.reply_create(actor=vn_focal_point, comment=submitted, body="Too late."),
            lambda: services.comment_set_endorsed(actor=vn_focal_point, comment=submitted, endorsed=False),
            lambda: services.national_position_submit(actor=vn_focal_point, engagement_round=timed_round),
        ]
        for write in writes:
            with pytest.raises(RoundClosedError):
                write()

    assert snapshot() == before


def test_closing_time_is_named_in_the_viewers_time_zone(timed_round, clause, vn_delegate):
    with time_machine.travel(CLOSES + timedelta(hours=1), tick=False), timezone.override("Asia/Ho_Chi_Minh"):
        with pytest.raises(RoundClosedError) as excinfo:
            create(vn_delegate, timed_round, clause)

    assert "1 July 2031, 00:30" in excinfo.value.messages[0]


def test_round_closed_message_reads_as_one_sentence(timed_round, clause, vn_delegate):
    """'... on June 30, 2031, 5:30 p.m.. Nothing was saved.': the date format's own full stop doubles up."""
    with time_machine.travel(CLOSES, tick=False), pytest.raises(RoundClosedError) as excinfo:
        create(vn_delegate, timed_round, clause)

    assert ".." not in excinfo.value.messages[0]


def test_write_before_the_round_opens_is_refused(make_round, clause, vn_delegate):
    now = timezone.now()
    scheduled = make_round(
        state=EngagementRound.State.SCHEDULED, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=8)
    )

    with pytest.raises(RoundClosedError) as excinfo:
        create(vn_delegate, scheduled, clause)

    assert "not open yet" in excinfo.value.messages[0]
    assert not Comment.objects.exists()


def test_organisation_with_an_extension_writes_after_closing_another_cannot(
    timed_round, clause, orgs, secretariat, vn_delegate, th_delegate
):
    extended_to = CLOSES + timedelta(days=2)
    round_extend(actor=secretariat, engagement_round=timed_round, organisation=orgs["vn"], closes_at=extended_to)
    timed_round.refresh_from_db()

    with time_machine.travel(CLOSES + timedelta(hours=1), tick=False):
        assert create(vn_delegate, timed_round, clause, body="Viet Nam, within its extension.").pk
        with pytest.raises(RoundClosedError) as excinfo:
            create(th_delegate, timed_round, clause, body="Thailand, too late.")
        assert excinfo.value.closed_at == CLOSES

    with time_machine.travel(extended_to, tick=False), pytest.raises(RoundClosedError) as excinfo:
        create(vn_delegate, timed_round, clause, body="Viet Nam, after its extension.")
    assert excinfo.value.closed_at == extended_to
    assert "2 July 2031, 17:30" in excinfo.value.messages[0]
    assert list(Comment.objects.values_list("body", flat=True)) == ["Viet Nam, within its extension."]


def test_round_closed_early_by_the_secretariat_refuses_writes(open_round, clause, secretariat, vn_delegate):
    draft = create(vn_delegate, open_round, clause, body="Draft.")

    round_close_now(actor=secretariat, engagement_round=open_round)
    engagement_round = EngagementRound.objects.get(pk=open_round.pk)
    draft = Comment.objects.get(pk=draft.pk)
    before = snapshot()

    with pytest.raises(RoundClosedError):
        create(vn_delegate, engagement_round, clause, body="After the early close.")
    with pytest.raises(RoundClosedError):
        edit(vn_delegate, draft, "After the early close.")
    with pytest.raises(RoundClosedError):
        services.comment_submit(actor=vn_delegate, comment=draft)
    assert snapshot() == before


def test_round_closed_early_refuses_a_create_given_the_round_as_loaded_before_the_close(
    open_round, clause, secretariat, vn_delegate
):
    """comment_create must check the round's state in the database, not the caller's copy.

    A page that loaded the round just before the secretariat closed it passes that copy; the
    comment must still be refused, as comment_update (which re-reads the round) refuses it.
    """
    loaded_by_the_page = EngagementRound.objects.get(pk=open_round.pk)
    round_close_now(actor=secretariat, engagement_round=open_round)

    with pytest.raises(RoundClosedError):
        create(vn_delegate, loaded_by_the_page, clause, body="After the early close.")
    assert not Comment.objects.exists()


# --- concurrent edits ---------------------------------------------------------------------


def test_stale_expected_revision_is_refused(open_round, clause, vn_delegate):
    comment = create(vn_delegate, open_round, clause, body="Original.")
    edit(vn_delegate, comment, "Edited in another tab.", expected_revision=1)
    before = snapshot()

    with pytest.raises(StaleWriteError):
        edit(vn_delegate, comment, "Edited in this tab.", expected_revision=1)
    with pytest.raises(StaleWriteError):
        services.comment_submit(actor=vn_delegate, comment=comment, expected_revision=1)
    with pytest.raises(StaleWriteError):
        services.comment_withdraw(actor=vn_delegate, comment=comment, expected_revision=1)

    assert snapshot() == before
    assert Comment.objects.get(pk=comment.pk).body == "Edited in another tab."


# --- national positions -------------------------------------------------------------------


def test_focal_point_endorses_a_submitted_comment_of_the_delegation(open_round, clause, vn_delegate, vn_focal_point):
    comment = create(vn_delegate, open_round, clause, submit=True)

    comment = services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)

    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.is_endorsed, stored.endorsed_by) == (True, vn_focal_point)
    assert stored.endorsed_at is not None
    comment = services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=False)
    assert Comment.objects.get(pk=comment.pk).is_endorsed is False
    assert audit_actions(comment)[-2:] == ["comment.endorsed", "comment.unendorsed"]


@pytest.mark.parametrize("persona", ["vn_delegate", "secretariat", "admin"])
def test_only_the_focal_point_endorses(persona, personas, open_round, clause, vn_colleague):
    comment = create(vn_colleague, open_round, clause, submit=True)
    before = snapshot()

    with pytest.raises(PermissionDenied):
        services.comment_set_endorsed(actor=personas[persona], comment=comment, endorsed=True)
    assert snapshot() == before


def test_focal_point_of_another_delegation_cannot_endorse(live_round, clause, vn_delegate, th_focal_point):
    comment = create(vn_delegate, live_round, clause, submit=True)
    before = snapshot()

    # Thailand reads Viet Nam's comment in a live round, but it is not Thailand's to endorse.
    with pytest.raises(PermissionDenied):
        services.comment_set_endorsed(actor=th_focal_point, comment=comment, endorsed=True)
    # Where Thailand cannot read it at all, it does not exist for Thailand.
    EngagementRound.objects.filter(pk=live_round.pk).update(visibility=EngagementRound.Visibility.SECRETARIAT_ONLY)
    with pytest.raises(Http404):
        services.comment_set_endorsed(actor=th_focal_point, comment=Comment.objects.get(pk=comment.pk), endorsed=True)
    assert snapshot() == before


def test_only_submitted_comments_are_endorsed(open_round, clause, vn_delegate, vn_focal_point):
    draft = create(vn_delegate, open_round, clause)
    withdrawn = services.comment_withdraw(
        actor=vn_delegate, comment=create(vn_delegate, open_round, clause, submit=True)
    )
    before = snapshot()

    for comment in (draft, withdrawn):
        with pytest.raises(ValidationError):
            services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)
    assert snapshot() == before


def test_withdrawing_an_endorsed_comment_takes_it_out_of_the_position(open_round, clause, vn_delegate, vn_focal_point):
    comment = create(vn_delegate, open_round, clause, submit=True)
    comment = services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)

    services.comment_withdraw(actor=vn_delegate, comment=comment)

    assert Comment.objects.get(pk=comment.pk).is_endorsed is False
    with pytest.raises(ValidationError):
        services.national_position_submit(actor=vn_focal_point, engagement_round=open_round)


def test_national_position_requires_endorsed_comments(open_round, clause, vn_delegate, vn_focal_point):
    create(vn_delegate, open_round, clause, submit=True)  # submitted but not endorsed

    with pytest.raises(ValidationError):
        services.national_position_submit(actor=vn_focal_point, engagement_round=open_round)
    assert not NationalPosition.objects.exists()


def test_focal_point_submits_the_national_position(open_round, clause, orgs, vn_delegate, vn_focal_point):
    first = create(vn_delegate, open_round, clause, submit=True)
    second = create(vn_delegate, open_round, clause, submit=True)
    create(vn_delegate, open_round, clause, submit=True)  # not endorsed
    for comment in (first, second):
        services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)

    position = services.national_position_submit(
        actor=vn_focal_point, engagement_round=open_round, note="Viet Nam's position."
    )

    stored = NationalPosition.objects.get()
    assert stored == position
    assert (stored.organisation, stored.submitted_by, stored.endorsed_count) == (orgs["vn"], vn_focal_point, 2)
    assert AuditEntry.objects.filter(action="position.submitted", target_id=str(stored.pk)).exists()


def test_only_the_focal_point_submits_the_national_position(open_round, clause, vn_delegate, vn_focal_point, outsider):
    comment = create(vn_delegate, open_round, clause, submit=True)
    services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)

    with pytest.raises(PermissionDenied):
        services.national_position_submit(actor=vn_delegate, engagement_round=open_round)
    with pytest.raises(Http404):
        services.national_position_submit(actor=outsider, engagement_round=open_round)
    assert not NationalPosition.objects.exists()


# --- moderation ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_hiding_requires_a_reason(reason, live_round, clause, vn_delegate, secretariat):
    comment = create(vn_delegate, live_round, clause, submit=True)
    before = snapshot()

    with pytest.raises(ValidationError) as excinfo:
        services.comment_hide(actor=secretariat, comment=comment, reason=reason)

    assert "reason" in excinfo.value.message_dict
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["consultant", "vn_focal_point", "th_delegate", "partner"])
def test_only_secretariat_and_admins_hide(persona, personas, live_round, clause, vn_delegate):
    comment = create(vn_delegate, live_round, clause, submit=True)
    before = snapshot()

    with pytest.raises(PermissionDenied):
        services.comment_hide(actor=personas[persona], comment=comment, reason="Off topic.")
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["secretariat", "admin"])
def test_hidden_comment_disappears_for_other_states_but_stays_in_the_record(
    persona, personas, live_round, clause, vn_delegate, vn_focal_point, th_delegate, partner
):
    comment = create(vn_delegate, live_round, clause, submit=True)
    services.comment_flag(actor=partner, comment=comment, reason="Personal attack.")
    moderator = personas[persona]

    services.comment_hide(actor=moderator, comment=comment, reason="Contains a personal attack.")

    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.is_hidden, stored.hidden_reason, stored.hidden_by) == (
        True,
        "Contains a personal attack.",
        moderator,
    )
    assert stored.status == Comment.Status.SUBMITTED
    with pytest.raises(Http404):
        get_comment_for_user(user=th_delegate, pk=comment.pk)
    assert get_comment_for_user(user=vn_focal_point, pk=comment.pk) == comment
    assert CommentFlag.objects.get().resolved_by == moderator
    entry = AuditEntry.objects.get(action="comment.hidden")
    assert entry.data == {"reason": "Contains a personal attack."}
    assert entry.actor == moderator


def test_secretariat_cannot_hide_a_draft_it_cannot_see(open_round, clause, vn_delegate, secretariat):
    draft = create(vn_delegate, open_round, clause)

    with pytest.raises(Http404):
        services.comment_hide(actor=secretariat, comment=draft, reason="Off topic.")


def test_unhide_shows_the_comment_again(live_round, clause, vn_delegate, th_delegate, secretariat):
    comment = create(vn_delegate, live_round, clause, submit=True)
    services.comment_hide(actor=secretariat, comment=comment, reason="Checking a quote.")

    services.comment_unhide(actor=secretariat, comment=comment)

    assert get_comment_for_user(user=th_delegate, pk=comment.pk) == comment
    assert audit_actions(comment)[-2:] == ["comment.hidden", "comment.unhidden"]


def test_a_person_flags_a_comment_once(live_round, clause, vn_delegate, th_delegate, partner):
    comment = create(vn_delegate, live_round, clause, submit=True)

    services.comment_flag(actor=th_delegate, comment=comment, reason="Off topic.")
    with pytest.raises(ValidationError):
        services.comment_flag(actor=th_delegate, comment=comment, reason="Still off topic.")
    services.comment_flag(actor=partner, comment=comment, reason="Off topic.")

    assert sorted(CommentFlag.objects.values_list("flagged_by__email", "reason")) == [
        ("partner@example.org", "Off topic."),
        ("th.delegate@example.org", "Off topic."),
    ]
    assert audit_actions(comment).count("comment.flagged") == 2


def test_flag_needs_a_reason(live_round, clause, vn_delegate, th_delegate):
    comment = create(vn_delegate, live_round, clause, submit=True)

    with pytest.raises(ValidationError):
        services.comment_flag(actor=th_delegate, comment=comment, reason="  ")
    assert not CommentFlag.objects.exists()


# --- audit trail --------------------------------------------------------------------------


def test_every_state_change_writes_a_dotted_audit_entry(
    live_round, clause, vn_delegate, vn_focal_point, th_delegate, secretariat
):
    comment = create(vn_delegate, live_round, clause)
    comment = edit(vn_delegate, comment, "Edited.")
    comment = services.comment_submit(actor=vn_delegate, comment=comment)
    services.reply_create(actor=vn_focal_point, comment=comment, body="Agreed.")
    comment = services.comment_set_endorsed(actor=vn_focal_point, comment=comment, endorsed=True)
    services.comment_flag(actor=th_delegate, comment=comment, reason="Off topic.")
    comment = services.comment_hide(actor=secretariat, comment=comment, reason="Off topic.")
    comment = services.comment_unhide(actor=secretariat, comment=comment)
    services.comment_withdraw(actor=vn_delegate, comment=comment)

    assert audit_actions(comment) == [
        "comment.created",
        "comment.edited",
        "comment.submitted",
        "comment.replied",
        "comment.endorsed",
        "comment.flagged",
        "comment.hidden",
        "comment.unhidden",
        "comment.withdrawn",
        "comment.unendorsed",  # withdrawing takes the comment out of the national position
    ]
    actors = list(
        AuditEntry.objects.filter(target_id=str(comment.pk)).order_by("id").values_list("actor__email", flat=True)
    )
    assert actors[4] == "vn.focal@example.org"
    assert actors[6] == "secretariat@example.org"
