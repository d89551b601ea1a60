"""The revision report: redline per section, the comments behind each change, what is still open."""

import pytest
from django.urls import reverse

from comments.models import Comment
from config.redline import DELETE, EQUAL, INSERT, Segment, diff_words, render_html
from consolidation.models import Disposition
from consolidation.selectors_revision import open_comments_filter, revision_report
from consolidation.services.carry_over import carry_over_comments
from consultations.models import EngagementRound
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.carry_over import anchored, build_new_version, build_world, reviewed_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(consultation, version, vn_delegate, th_delegate, secretariat):
    world = build_world(consultation, version, vn_delegate, th_delegate)
    new_dc = world["new"].sections.get(key="infra-dc")
    decided = world["comments"]["decided"].disposition
    decided.section_change = new_dc
    decided.response = "The clause now names the data centres."
    decided.save()
    world["new_dc"] = new_dc
    carry_over_comments(version_id=world["new"].pk)
    return world


def by_key(report):
    return {(s.key, s.status): s for s in report.sections}


# --- redline --------------------------------------------------------------------------------


def test_redline_of_a_changed_sentence_has_exactly_the_inserted_and_deleted_words():
    segments = diff_words(
        "Member states will extend 5G coverage to all urban areas by 2028.",
        "Member states will extend 5G coverage to all urban and peri-urban areas by 2030.",
    )
    assert segments == [
        Segment(EQUAL, "Member states will extend 5G coverage to all urban "),
        Segment(INSERT, "and peri-urban "),
        Segment(EQUAL, "areas by "),
        Segment(DELETE, "2028"),
        Segment(INSERT, "2030"),
        Segment(EQUAL, "."),
    ]


def test_redline_html_is_escaped():
    html = render_html(diff_words("a <b> & c", "a <i> & c"))
    assert html == "a &lt;<del>b</del><ins>i</ins>&gt; &amp; c"


def test_redline_keeps_vietnamese_words_whole():
    segments = diff_words("Phát triển hạ tầng số", "Phát triển nhanh hạ tầng số")
    assert [s.text for s in segments if s.op == INSERT] == ["nhanh "]


# --- sections -------------------------------------------------------------------------------


def test_sections_are_matched_by_key_with_added_removed_changed_and_renumbered(world, secretariat):
    report = revision_report(user=secretariat, version=world["new"])
    order = [(s.key, s.status) for s in report.sections]
    assert order == [
        ("outcomes", "unchanged"),
        ("infra", "unchanged"),
        ("infra-ai", "added"),
        ("infra-5g", "changed"),
        ("infra-dc", "changed"),
        ("infra-cyber", "changed"),
        ("infra-legacy", "removed"),  # where it used to be: after cybersecurity
    ]
    sections = by_key(report)
    five_g = sections[("infra-5g", "changed")]
    assert (five_g.old_number, five_g.number, five_g.renumbered, five_g.moved) == ("1.1.1", "1.1.2", True, False)
    assert [s.text for s in five_g.body_segments if s.op == INSERT] == ["and peri-urban ", "2030"]
    assert [s.text for s in five_g.body_segments if s.op == DELETE] == ["2028"]
    added = sections[("infra-ai", "added")]
    assert [s.op for s in added.heading_segments] == [INSERT]
    removed = sections[("infra-legacy", "removed")]
    assert removed.body_segments == [Segment(DELETE, "Copper networks will be retired by 2030 in every member state.")]
    assert not sections[("outcomes", "unchanged")].is_noteworthy


def test_disposition_is_listed_under_the_section_it_changed(world, secretariat):
    sections = by_key(revision_report(user=secretariat, version=world["new"]))
    entries = sections[("infra-dc", "changed")].dispositions
    assert [(e.number, e.organisation, e.decision, e.decision_label, e.response) for e in entries] == [
        (world["comments"]["decided"].number, "Thailand", "noted", "Noted", "The clause now names the data centres.")
    ]
    assert all(not s.dispositions for key, s in sections.items() if key[0] != "infra-dc")


def test_carried_comments_are_listed_under_the_section_they_landed_on(world, secretariat):
    sections = by_key(revision_report(user=secretariat, version=world["new"]))
    comments = world["comments"]
    dc = {e.pk for e in sections[("infra-dc", "changed")].carried}
    assert dc == {comments["exact"].pk, comments["moved"].pk, comments["proposed"].pk}
    five_g = {e.pk: e.landing for e in sections[("infra-5g", "changed")].carried}
    assert set(five_g) == {comments["fuzzy"].pk, comments["whole"].pk}  # "short" is orphaned: listed apart
    assert five_g[comments["fuzzy"].pk].quote == "extend 5G coverage to all urban and peri-urban areas"


def test_statistics(world, secretariat):
    stats = revision_report(user=secretariat, version=world["new"]).stats
    assert (stats["sections_added"], stats["sections_removed"], stats["sections_changed"]) == (1, 1, 3)
    assert (stats["sections_unchanged"], stats["sections_renumbered"], stats["sections_moved"]) == (2, 3, 0)
    # 9 submitted on 0.1 (the draft and the withdrawn comment do not count); one decided.
    assert stats["comments_total"] == 9
    assert stats["decision_counts"]["noted"] == 1
    assert stats["decision_counts"]["undecided"] == 8
    assert stats["decision_counts"]["accepted"] == 0  # only proposed
    assert (stats["open_count"], stats["orphaned_count"]) == (8, 3)


def test_open_and_orphaned_comments_are_listed_apart(world, secretariat):
    report = revision_report(user=secretariat, version=world["new"])
    comments = world["comments"]
    assert {e.pk for e in report.orphaned_comments} == {
        comments["deleted"].pk,
        comments["short"].pk,
        comments["whole_deleted"].pk,
    }
    assert [e.pk for e in report.open_comments] == [
        comments["fuzzy"].pk,
        comments["whole"].pk,
        comments["exact"].pk,
        comments["moved"].pk,
        comments["proposed"].pk,
    ]  # in the new document's order
    assert report.carry_over_pending == 0


def test_open_comments_probed_one_by_one_are_the_ones_joined(world):
    """The carry-over's form of "open" (each disposition probed) selects what the joined form does:
    drafts, withdrawn and decided comments out; no disposition, or only a proposed one, in."""
    comments = world["comments"]
    Disposition.objects.create(comment=comments["whole"], decision="", response="Under review")
    joined = set(Comment.objects.filter(open_comments_filter()).values_list("pk", flat=True))
    probed = set(Comment.objects.filter(open_comments_filter(probe=True)).values_list("pk", flat=True))
    assert probed == joined
    assert comments["proposed"].pk in probed and comments["whole"].pk in probed
    closed = Comment.objects.exclude(status=Comment.Status.SUBMITTED).values_list("pk", flat=True)
    decided = Disposition.objects.exclude(decision="").values_list("comment_id", flat=True)
    assert closed and decided and not probed & (set(closed) | set(decided))


def test_open_comments_not_yet_carried_are_counted(consultation, version, vn_delegate, th_delegate, secretariat):
    world = build_world(consultation, version, vn_delegate, th_delegate)
    report = revision_report(user=secretariat, version=world["new"])
    assert report.carry_over_pending == 8 and all(e.landing is None for e in report.open_comments)


def test_first_version_has_every_section_added_and_no_comments(version, secretariat):
    report = revision_report(user=secretariat, version=version)
    assert report.previous_number == ""
    assert {s.status for s in report.sections} == {"added"}
    assert report.stats["comments_total"] == 0


# --- visibility -------------------------------------------------------------------------------


def test_delegate_of_another_state_does_not_see_secretariat_only_comments(world, vn_delegate):
    report = revision_report(user=vn_delegate, version=world["new"])
    seen = {e.pk for s in report.sections for e in s.dispositions + s.carried}
    seen |= {e.pk for e in report.open_comments + report.orphaned_comments}
    comments = world["comments"]
    vietnamese = {comments[n].pk for n in ("exact", "moved", "short", "whole")}
    assert seen == vietnamese
    assert by_key(report)[("infra-dc", "changed")].dispositions == []  # Thailand's, decided
    assert report.stats["comments_total"] == 4
    assert report.stats["open_count"] == 4


def test_when_the_round_shows_comments_after_close_delegates_see_them_all(world, vn_delegate):
    EngagementRound.objects.filter(pk=world["round"].pk).update(visibility=EngagementRound.Visibility.AFTER_CLOSE)
    report = revision_report(user=vn_delegate, version=world["new"])
    assert [e.organisation for e in by_key(report)[("infra-dc", "changed")].dispositions] == ["Thailand"]
    assert report.stats["comments_total"] == 9


def test_only_organisers_see_a_proposed_decision(world, vn_delegate, th_delegate, consultant):
    EngagementRound.objects.filter(pk=world["round"].pk).update(visibility=EngagementRound.Visibility.LIVE)
    proposed = world["comments"]["proposed"].pk
    Disposition.objects.filter(comment_id=proposed).update(proposed_response="We will name them.")

    def entry(user):
        report = revision_report(user=user, version=world["new"])
        return next(e for e in report.open_comments if e.pk == proposed)

    assert (entry(consultant).decision_label, entry(consultant).response) == (
        "Proposed: Accepted",
        "We will name them.",
    )
    assert (entry(th_delegate).decision_label, entry(th_delegate).response) == ("No decision yet", "")


# --- the page ---------------------------------------------------------------------------------


def url(world):
    return reverse("consolidation:revision", args=[world["new"].consultation.slug, world["new"].number])


@pytest.mark.parametrize("persona", ["secretariat", "consultant", "vn_delegate", "th_delegate", "partner", "admin"])
def test_every_participant_may_read_the_report(client, world, personas, persona):
    client.force_login(personas[persona])
    response = client.get(url(world))
    assert response.status_code == 200
    assert "<ins>and peri-urban </ins>" in response.content.decode()


def test_outsider_gets_404_and_anonymous_is_sent_to_log_in(client, world, outsider):
    assert client.get(url(world)).status_code == 302
    client.force_login(outsider)
    assert client.get(url(world)).status_code == 404


def test_page_shows_redline_dispositions_and_orphans(client, world, secretariat):
    client.force_login(secretariat)
    html = client.get(url(world)).content.decode()
    assert "<del>2028</del><ins>2030</ins>" in html
    assert "The clause now names the data centres." in html
    assert "Renumbered from 1.1.1 to 1.1.2." in html
    assert "Open comments whose passage is no longer in the text" in html
    assert world["comments"]["deleted"].body in html
    assert world["comments"]["draft"].body not in html


def test_page_does_not_show_another_states_comments_to_a_delegate(client, world, vn_delegate):
    client.force_login(vn_delegate)
    html = client.get(url(world)).content.decode()
    assert world["comments"]["exact"].body in html
    assert world["comments"]["fuzzy"].body not in html
    assert "The clause now names the data centres." not in html


def _grow(world, count):
    """`count` more open comments (carried) and decided comments (with a section change) per state."""
    old_dc = world["old"].sections.get(key="infra-dc")
    for i in range(count):
        for author in (world["vn"], world["th"]):
            anchored(old_dc, "renewable energy", round=world["round"], author=author, body=f"More {i}")
            decided = CommentFactory(
                section=old_dc, round=world["round"], author=author, status=Comment.Status.SUBMITTED
            )
            Disposition.objects.create(
                comment=decided, decision=Disposition.Decision.ACCEPTED, section_change=world["new_dc"]
            )
    carry_over_comments(version_id=world["new"].pk)


@pytest.mark.parametrize("persona", ["secretariat", "vn_delegate"])
def test_page_queries_do_not_grow_with_comments(
    client, world, personas, persona, vn_delegate, th_delegate, django_assert_num_queries
):
    world["vn"], world["th"] = vn_delegate, th_delegate
    client.force_login(personas[persona])
    _grow(world, 1)
    # session, user, consultation, participation (for the permission, then once more for the
    # selectors, which get the request's lazy user), version, previous version, sections, rounds,
    # open comments, their landings, comments behind changes, counts by decision, the header's
    # unread notifications
    with django_assert_num_queries(13):
        assert client.get(url(world)).status_code == 200
    _grow(world, 6)
    with django_assert_num_queries(13):
        response = client.get(url(world))
    assert response.status_code == 200
    assert "More 5" in response.content.decode()


def test_the_decision_table_counts_the_same_comments_as_the_open_count(world, secretariat, th_delegate):
    """With three versions, a comment of 0.1 still open on 0.3 is in both figures: they never disagree."""
    second_round = reviewed_round(world["new"], title="Second stakeholder engagement")
    later = anchored(world["new_dc"], "renewable energy", round=second_round, author=th_delegate)
    factories.DispositionFactory(comment=later, decision=Disposition.Decision.ACCEPTED, response="Done.")
    open_later = anchored(world["new_dc"], "data centres", round=second_round, author=th_delegate)
    third = build_new_version(world["old"].consultation, world["new"], number="0.3")
    carry_over_comments(version_id=third.pk)

    stats = revision_report(user=secretariat, version=third).stats
    # 8 open of 0.1's round (carried twice) + 1 open of 0.2's; 0.1's noted one and 0.2's accepted one.
    assert stats["open_count"] == 9 == stats["decision_counts"]["undecided"]
    assert stats["comments_total"] == 11 == sum(count for _, count in stats["comments_by_decision"])
    assert (stats["decision_counts"]["noted"], stats["decision_counts"]["accepted"]) == (1, 1)
    assert open_later.pk in {e.pk for e in revision_report(user=secretariat, version=third).open_comments}
