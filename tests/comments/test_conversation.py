"""comments.services for conversation: @mentions, resolving threads, support from other delegations."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from accounts.models import Role
from audit.models import AuditEntry
from comments import services
from comments.mentions import render
from comments.models import Comment, CommentSupport
from comments.selectors import comments_visible_to, mention_candidates, thread_audience
from config.errors import RoundClosedError
from consultations.models import EngagementRound
from consultations.services import round_close_now
from notifications.models import Notification
from tests import factories
from tests.helpers.people import participant


def audit_actions(comment) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="comments.comment", target_id=str(comment.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def mentioned(person) -> list[str]:
    return list(Notification.objects.filter(recipient=person, kind="mention").values_list("key", flat=True))


@pytest.fixture
def live_round(version):
    return factories.EngagementRoundFactory(version=version, visibility=EngagementRound.Visibility.LIVE)


@pytest.fixture
def secret_round(version):
    return factories.EngagementRoundFactory(version=version, visibility=EngagementRound.Visibility.SECRETARIAT_ONLY)


def write(actor, engagement_round, section, body, **fields):
    return services.comment_create(
        actor=actor, engagement_round=engagement_round, section=section, comment_type="te", body=body, **fields
    )


# --- mentions -----------------------------------------------------------------------------


def test_a_colleague_named_by_handle_is_notified_and_shown_by_name(vn_delegate, vn_colleague, secret_round, clause):
    vn_colleague.full_name = "Trần Thị Bình"
    vn_colleague.save()
    comment = write(vn_delegate, secret_round, clause, "@vn.colleague, please check the 2028 figure.")
    assert comment.mentions == {"vn.colleague": "Trần Thị Bình"}
    assert mentioned(vn_colleague) == [f"mention:comment:{comment.pk}"]
    html = render(comment.body, comment.mentions)
    assert '<span class="mention" title="@vn.colleague">@Trần Thị Bình</span>, please check' in html


def test_a_person_who_may_not_see_the_thread_is_plain_text_and_not_told(
    vn_delegate, th_delegate, secretariat, secret_round, clause
):
    # A draft is seen by its delegation only: neither Thailand nor the secretariat is named.
    comment = write(vn_delegate, secret_round, clause, "As @th.delegate and @secretariat said: <b>no</b>.")
    assert comment.mentions is None
    assert mentioned(th_delegate) == [] and mentioned(secretariat) == []
    assert render(comment.body, comment.mentions) == "As @th.delegate and @secretariat said: &lt;b&gt;no&lt;/b&gt;."


def test_submitting_names_the_secretariat_but_not_another_delegation_in_a_secretariat_only_round(
    vn_delegate, th_delegate, secretariat, secret_round, clause
):
    comment = write(vn_delegate, secret_round, clause, "@secretariat and @th.delegate: see 2.3.")
    services.comment_submit(actor=vn_delegate, comment=comment)
    comment.refresh_from_db()
    assert comment.mentions == {"secretariat": secretariat.get_full_name()}
    assert mentioned(secretariat) == [f"mention:comment:{comment.pk}"]
    assert mentioned(th_delegate) == []


def test_in_a_live_round_another_delegation_can_be_named_in_a_reply(vn_delegate, th_delegate, live_round, clause):
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    reply = services.reply_create(actor=vn_delegate, comment=comment, body="@TH.Delegate. Do you agree?")
    assert reply.mentions == {"th.delegate": th_delegate.get_full_name()}
    assert mentioned(th_delegate) == [f"mention:reply:{reply.pk}"]


def test_a_handle_two_people_share_names_no_one_but_their_addresses_do(
    consultation, orgs, vn_delegate, secret_round, clause
):
    first = participant(consultation, orgs["vn"], "an@mic.gov.vn", Role.MEMBER_STATE)
    second = participant(consultation, orgs["vn"], "an@mofa.gov.vn", Role.MEMBER_STATE)
    comment = write(vn_delegate, secret_round, clause, "@an, or rather @an@mofa.gov.vn: please confirm.")
    assert comment.mentions == {"an@mofa.gov.vn": second.get_full_name()}
    assert mentioned(first) == [] and mentioned(second) == [f"mention:comment:{comment.pk}"]
    handles = [handle for handle, _name, _org in mention_candidates(user=vn_delegate, engagement_round=secret_round)]
    assert "an@mic.gov.vn" in handles and "an@mofa.gov.vn" in handles and "an" not in handles


def test_naming_yourself_or_an_address_in_text_tells_no_one(vn_delegate, secret_round, clause):
    comment = write(vn_delegate, secret_round, clause, "Mail ops@vn.delegate.org, cc @vn.delegate.")
    assert comment.mentions == {"vn.delegate": vn_delegate.get_full_name()}
    assert Notification.objects.filter(kind="mention").count() == 0


def test_an_edit_that_names_someone_again_notifies_them_once(vn_delegate, vn_colleague, secret_round, clause):
    comment = write(vn_delegate, secret_round, clause, "@vn.colleague please check.")
    comment = services.comment_update(
        actor=vn_delegate, comment=comment, comment_type="te", body="@vn.colleague please check 2.3.", keep_anchor=True
    )
    assert mentioned(vn_colleague) == [f"mention:comment:{comment.pk}"]
    comment = services.comment_update(
        actor=vn_delegate, comment=comment, comment_type="te", body="Checked.", keep_anchor=True
    )
    assert Comment.objects.get(pk=comment.pk).mentions is None


def test_the_autocomplete_lists_only_the_threads_audience(
    vn_delegate, vn_colleague, vn_focal_point, th_delegate, secretariat, consultant, partner, outsider, secret_round
):
    listed = {h for h, _n, _o in mention_candidates(user=vn_delegate, engagement_round=secret_round)}
    # A new comment as it will be submitted: the delegation and the team, never Thailand or a partner.
    assert listed == {"vn.colleague", "vn.focal", "secretariat", "consultant"}
    narrowed = mention_candidates(user=vn_delegate, engagement_round=secret_round, query="vn.c")
    assert [h for h, _n, _o in narrowed] == ["vn.colleague"]


@pytest.mark.parametrize("visibility", list(EngagementRound.Visibility))
@pytest.mark.parametrize("status", ["draft", "submitted", "withdrawn"])
@pytest.mark.parametrize("hidden", [False, True])
def test_thread_audience_is_who_comments_visible_to_lets_see(
    personas, vn_colleague, th_focal_point, version, clause, visibility, status, hidden
):
    engagement_round = factories.EngagementRoundFactory(version=version, visibility=visibility)
    comment = factories.CommentFactory(
        round=engagement_round, section=clause, author=personas["vn_delegate"], status=status, is_hidden=hidden
    )
    audience = set(
        thread_audience(
            engagement_round=engagement_round, organisation_id=comment.organisation_id, status=status, is_hidden=hidden
        ).values_list("user_id", flat=True)
    )
    people = [*personas.values(), vn_colleague, th_focal_point]
    seeing = {
        p.pk
        for p in people
        if comments_visible_to(user=p, engagement_round=engagement_round).filter(pk=comment.pk).exists()
        and not p.is_staff  # site admins see every comment but act for no delegation: not named
    }
    assert audience == seeing


# --- resolving threads --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("vn_delegate", True),  # the author
        ("vn_focal_point", True),
        ("vn_colleague", False),
        ("secretariat", True),
        ("consultant", True),
        ("th_delegate", False),
        ("partner", False),
    ],
)
def test_who_may_resolve_a_thread(request, live_round, clause, vn_delegate, who, allowed):
    actor = request.getfixturevalue(who)
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.thread_set_resolved(actor=actor, comment=comment, resolved=True)
        assert Comment.objects.get(pk=comment.pk).resolved_at is None
        return
    resolved = services.thread_set_resolved(actor=actor, comment=comment, resolved=True)
    assert resolved.resolved_by == actor and resolved.resolved_at is not None
    reopened = services.thread_set_resolved(actor=actor, comment=comment, resolved=False)
    assert reopened.resolved_at is None and Comment.objects.get(pk=comment.pk).resolved_by is None
    assert audit_actions(comment)[-2:] == ["thread.resolved", "thread.reopened"]


def test_resolving_and_support_make_a_new_revision_but_not_a_new_text(vn_delegate, th_delegate, live_round, clause):
    # The ETag and the consolidation's fingerprint follow the revision: both must see the change.
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    before = Comment.objects.get(pk=comment.pk)
    services.thread_set_resolved(actor=vn_delegate, comment=comment, resolved=True)
    services.comment_support(actor=th_delegate, comment=comment)
    after = Comment.objects.get(pk=comment.pk)
    assert after.revision == before.revision + 2 and after.updated_at == before.updated_at
    assert after.revisions.count() == before.revisions.count()  # no history entry: the text is the same


def test_a_thread_cannot_be_resolved_once_the_round_closed(vn_delegate, secretariat, secret_round, clause):
    comment = write(vn_delegate, secret_round, clause, "Rural coverage first.", submit=True)
    round_close_now(actor=secretariat, engagement_round=secret_round)
    comment.round.refresh_from_db()
    with pytest.raises(RoundClosedError):
        services.thread_set_resolved(actor=secretariat, comment=comment, resolved=True)
    assert Comment.objects.get(pk=comment.pk).resolved_at is None


def test_a_thread_you_may_not_see_is_a_404(vn_delegate, th_delegate, secret_round, clause):
    comment = write(vn_delegate, secret_round, clause, "Rural coverage first.", submit=True)
    with pytest.raises(Http404):
        services.thread_set_resolved(actor=th_delegate, comment=comment, resolved=True)


# --- support ------------------------------------------------------------------------------


def test_another_delegation_supports_a_comment_it_sees_once_and_withdraws(
    vn_delegate, th_delegate, th_focal_point, live_round, clause
):
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    support = services.comment_support(actor=th_delegate, comment=comment)
    assert (support.organisation.name, support.supported_by) == ("Thailand", th_delegate)
    with pytest.raises(ValidationError):
        services.comment_support(actor=th_focal_point, comment=comment)  # one per organisation
    assert CommentSupport.objects.filter(comment=comment).count() == 1
    services.comment_support_withdraw(actor=th_focal_point, comment=comment)
    assert not CommentSupport.objects.filter(comment=comment).exists()
    with pytest.raises(ValidationError):
        services.comment_support_withdraw(actor=th_focal_point, comment=comment)
    assert audit_actions(comment)[-2:] == ["comment.supported", "comment.support_withdrawn"]


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("vn_colleague", PermissionDenied),  # its own delegation
        ("secretariat", PermissionDenied),
        ("consultant", PermissionDenied),
        ("site_admin", PermissionDenied),
        ("outsider", Http404),
    ],
)
def test_who_may_not_support(request, vn_delegate, live_round, clause, who, refusal):
    actor = request.getfixturevalue(who)
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    with pytest.raises(refusal):
        services.comment_support(actor=actor, comment=comment)
    assert not CommentSupport.objects.exists()


def test_a_partner_in_a_round_open_to_partners_may_support(vn_delegate, partner, live_round, clause):
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    assert services.comment_support(actor=partner, comment=comment).organisation.name == "Development Partner"


def test_a_comment_another_delegation_cannot_see_cannot_be_supported(vn_delegate, th_delegate, secret_round, clause):
    comment = write(vn_delegate, secret_round, clause, "Rural coverage first.", submit=True)
    with pytest.raises(Http404):
        services.comment_support(actor=th_delegate, comment=comment)


def test_support_and_its_withdrawal_refused_once_the_round_closed(
    vn_delegate, th_delegate, secretariat, live_round, clause
):
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    services.comment_support(actor=th_delegate, comment=comment)
    round_close_now(actor=secretariat, engagement_round=live_round)
    comment.round.refresh_from_db()
    with pytest.raises(RoundClosedError):
        services.comment_support_withdraw(actor=th_delegate, comment=comment)
    assert CommentSupport.objects.filter(comment=comment).count() == 1


def test_a_withdrawn_comment_cannot_be_supported(vn_delegate, th_delegate, live_round, clause):
    comment = write(vn_delegate, live_round, clause, "Rural coverage first.", submit=True)
    services.comment_withdraw(actor=vn_delegate, comment=comment)
    with pytest.raises((ValidationError, Http404)):
        services.comment_support(actor=th_delegate, comment=comment)
    assert not CommentSupport.objects.exists()
