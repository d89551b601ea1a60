"""Carry-over of open comments to the next version: where each comment lands, and that none is lost."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEntry
from consolidation.models import CarriedAnchor, CarryOverJob, Disposition, JobStatus
from consolidation.services.carry_over import carry_over_comments, queue_carry_over
from consolidation.tasks import carry_over_version, sweep_jobs
from consultations.models import Section
from demo.seed import seed_demo
from tests import factories
from tests.helpers.carry_over import NEW_5G, NEW_DC, add_clause, anchored, build_world, reviewed_round

Method = CarriedAnchor.Method


@pytest.fixture
def world(consultation, version, vn_delegate, th_delegate):
    return build_world(consultation, version, vn_delegate, th_delegate)


def landing(world, name) -> CarriedAnchor:
    return CarriedAnchor.objects.select_related("section").get(comment=world["comments"][name], version=world["new"])


def test_unchanged_passage_lands_exactly_at_its_new_position(world):
    carry_over_comments(version_id=world["new"].pk)
    anchor = landing(world, "exact")
    assert anchor.method == Method.EXACT
    assert anchor.section.key == "infra-dc" and anchor.section.version_id == world["new"].pk
    assert NEW_DC[anchor.position_start : anchor.position_end] == "run on renewable energy"
    assert anchor.quote_exact == "run on renewable energy"
    assert anchor.score == 100


def test_edited_passage_lands_fuzzily_on_the_edited_words(world):
    carry_over_comments(version_id=world["new"].pk)
    anchor = landing(world, "fuzzy")
    assert anchor.method == Method.FUZZY
    assert anchor.section.key == "infra-5g"
    # What a reader expects to see highlighted: the same passage with its inserted words.
    assert anchor.quote_exact == "extend 5G coverage to all urban and peri-urban areas"
    assert NEW_5G[anchor.position_start : anchor.position_end] == anchor.quote_exact
    assert 80 <= anchor.score < 100


def test_passage_moved_to_another_section_lands_there(world):
    carry_over_comments(version_id=world["new"].pk)
    anchor = landing(world, "moved")
    assert anchor.method == Method.MOVED
    assert anchor.section.key == "infra-dc"
    assert anchor.quote_exact == "Cross-border incident reporting will follow a common template"
    assert anchor.position_start == NEW_DC.index("Cross-border")
    assert anchor.position_end == anchor.position_start + len(anchor.quote_exact)


def test_deleted_passage_is_orphaned_not_dropped(world):
    result = carry_over_comments(version_id=world["new"].pk)
    deleted = landing(world, "deleted")
    assert deleted.method == Method.ORPHANED and deleted.section is None
    assert deleted.position_start is None and deleted.quote_exact == ""
    # A passage that is gone from a section that remains stays on that section.
    short = landing(world, "short")
    assert short.method == Method.ORPHANED and short.section.key == "infra-5g"
    assert result[Method.ORPHANED] == 3  # deleted, short, whole_deleted


def test_whole_section_comments_follow_the_key_through_renumbering(world):
    carry_over_comments(version_id=world["new"].pk)
    whole = landing(world, "whole")
    assert whole.method == Method.SECTION
    assert (whole.section.key, whole.section.number) == ("infra-5g", "1.1.2")  # was 1.1.1
    assert whole.position_start is None
    gone = landing(world, "whole_deleted")
    assert gone.method == Method.ORPHANED and gone.section is None


def test_only_open_comments_are_carried(world):
    result = carry_over_comments(version_id=world["new"].pk)
    carried = set(CarriedAnchor.objects.filter(version=world["new"]).values_list("comment_id", flat=True))
    comments = world["comments"]
    assert carried == {comments[n].pk for n in ("exact", "fuzzy", "moved", "deleted", "short", "whole",
                                               "whole_deleted", "proposed")}  # fmt: skip
    assert result["total"] == 8
    assert landing(world, "proposed").method == Method.EXACT


def test_rerun_replaces_the_anchors_instead_of_adding(world):
    first = carry_over_comments(version_id=world["new"].pk)
    before = {a.comment_id: (a.method, a.position_start, a.quote_exact) for a in CarriedAnchor.objects.all()}
    CarriedAnchor.objects.filter(comment=world["comments"]["exact"]).update(method=Method.ORPHANED, quote_exact="x")
    second = carry_over_version.delay(world["new"].pk).get()
    after = {a.comment_id: (a.method, a.position_start, a.quote_exact) for a in CarriedAnchor.objects.all()}
    assert first == second
    assert after == before
    assert CarriedAnchor.objects.filter(version=world["new"]).count() == 8


def test_an_anchor_of_a_comment_decided_since_the_last_run_is_kept(world):
    carry_over_comments(version_id=world["new"].pk)
    Disposition.objects.create(comment=world["comments"]["exact"], decision=Disposition.Decision.ACCEPTED)
    carry_over_comments(version_id=world["new"].pk)
    assert landing(world, "exact").method == Method.EXACT


def test_second_carry_over_follows_the_passage_edited_again(world, consultation):
    carry_over_comments(version_id=world["new"].pk)
    third = factories.DraftVersionFactory(
        consultation=consultation, number="0.3", major=0, minor=3, previous=world["new"]
    )
    text = "By 2030 member states will extend 5G coverage to all urban and peri-urban areas and islands."
    add_clause(third, key="infra-5g", number="1.1.2", heading="5G and 6G networks", body=text, position=1)
    carry_over_comments(version_id=third.pk)
    anchor = CarriedAnchor.objects.get(comment=world["comments"]["fuzzy"], version=third)
    assert anchor.method == Method.EXACT
    assert anchor.quote_exact == "extend 5G coverage to all urban and peri-urban areas"


def test_score_threshold_comes_from_settings(world, settings):
    settings.CARRY_OVER_MIN_SCORE = 95
    carry_over_comments(version_id=world["new"].pk)
    # 89 is no longer enough: the edited passage is not recognised, and no other section has it.
    assert landing(world, "fuzzy").method == Method.ORPHANED


def test_unpublished_version_is_not_carried_to(world):
    world["new"].status = "draft"
    world["new"].save()
    assert carry_over_comments(version_id=world["new"].pk)["total"] == 0
    assert not CarriedAnchor.objects.exists()


def test_queue_carry_over_runs_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queue_carry_over(world["new"])
    assert len(callbacks) == 1 and not CarriedAnchor.objects.exists()
    callbacks[0]()
    assert CarriedAnchor.objects.filter(version=world["new"]).count() == 8


def test_vietnamese_passage_edited_is_found(consultation, version, vn_delegate):
    engagement_round = reviewed_round(version)
    old = add_clause(
        version, key="vi", number="9", heading="Hạ tầng số", position=9,
        body="Các quốc gia thành viên sẽ mở rộng vùng phủ sóng 5G tới mọi đô thị.",
    )  # fmt: skip
    comment = anchored(old, "mở rộng vùng phủ sóng 5G tới mọi đô thị", round=engagement_round, author=vn_delegate)
    new = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2, previous=version)
    add_clause(
        new, key="vi", number="9", heading="Hạ tầng số", position=1,
        body="Các quốc gia thành viên sẽ nhanh chóng mở rộng vùng phủ sóng 5G tới mọi đô thị và nông thôn.",
    )  # fmt: skip
    carry_over_comments(version_id=new.pk)
    anchor = CarriedAnchor.objects.get(comment=comment, version=new)
    assert anchor.method == Method.EXACT
    assert anchor.quote_exact == "mở rộng vùng phủ sóng 5G tới mọi đô thị"


def test_a_passage_across_a_paragraph_break_with_a_tab_and_a_backslash_is_stored_as_it_was(
    consultation, version, vn_delegate
):
    body = "Paths use C:\\data\\plans.\tThe agency will publish them.\n\nEach state reviews them yearly."
    quote = "C:\\data\\plans.\tThe agency will publish them.\n\nEach state"
    engagement_round = reviewed_round(version)
    old = add_clause(version, key="paths", number="9", heading="Paths", position=9, body=body)
    comment = anchored(old, quote, round=engagement_round, author=vn_delegate)
    new = factories.DraftVersionFactory(consultation=consultation, number="0.2", major=0, minor=2, previous=version)
    add_clause(new, key="paths", number="9", heading="Paths", position=1, body="Intro.\n\n" + body)

    carry_over_comments(version_id=new.pk)

    anchor = CarriedAnchor.objects.get(comment=comment, version=new)
    assert anchor.method == Method.EXACT
    assert anchor.quote_exact == quote
    start = len("Intro.\n\n") + body.index(quote)
    assert (anchor.position_start, anchor.position_end) == (start, start + len(quote))


def test_section_page_of_the_new_version_lists_the_open_comments_carried_onto_it(
    client, db, django_capture_on_commit_callbacks
):
    """After seed_demo, version 0.2's clause 2.4 shows Viet Nam's open comment from the first round."""
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()
    section = Section.objects.get(version__number="0.2", number="2.4")
    url = reverse("comments:section", args=["adm-2030", "0.2", section.key])

    client.force_login(User.objects.get(email="vn.delegate@example.org"))
    page = client.get(url).content.decode()
    assert "Open comments from earlier versions" in page
    assert "Cần làm rõ cơ chế hợp tác" in page  # Viet Nam's own comment, still undecided

    # The first round's policy is after_close and it has closed, so Thailand sees it too; a
    # decided comment is not carried over, so nobody sees it listed here.
    client.force_login(User.objects.get(email="th.delegate@example.org"))
    page = client.get(url).content.decode()
    assert "Cần làm rõ cơ chế hợp tác" in page
    assert "voluntary while several member states" not in page  # decided: not accepted


def test_a_carry_over_whose_message_was_lost_is_run_once_by_the_sweep(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        queue_carry_over(world["new"])  # published with the version; the broker never got it
    job = CarryOverJob.objects.get(version=world["new"])
    assert (job.status, job.queued_at) == (JobStatus.QUEUED, None)
    CarryOverJob.objects.filter(pk=job.pk).update(requested_at=timezone.now() - timedelta(minutes=5))

    assert sweep_jobs.apply().get()["carry_overs"]["requeued"] == [job.pk]
    assert carry_over_version.delay(world["new"].pk).get() == {"skipped": True, "total": 0}  # a late redelivery

    job.refresh_from_db()
    assert (job.status, job.attempts, job.result["total"]) == (JobStatus.DONE, 1, 8)
    assert CarriedAnchor.objects.filter(version=world["new"]).count() == 8
    assert AuditEntry.objects.filter(action="version.comments_carried_over").count() == 1


@pytest.mark.django_db
def test_deleting_a_comment_a_section_or_a_version_deletes_its_carried_anchors():
    """Carried anchors have no constraints in the database: Django deletes them with what they name."""
    first, second = factories.CarriedAnchorFactory(), factories.CarriedAnchorFactory()
    third = factories.CarriedAnchorFactory(version=second.version, section=second.section)
    first.comment.delete()
    assert not CarriedAnchor.objects.filter(pk=first.pk).exists()
    second.section.delete()
    assert not CarriedAnchor.objects.filter(pk__in=[second.pk, third.pk]).exists()
    fourth = factories.CarriedAnchorFactory()
    fourth.version.delete()
    assert not CarriedAnchor.objects.filter(pk=fourth.pk).exists()
