"""The benchmark's data generator writes the counts it is asked for (a tiny size; no timing)."""

import pytest
from django.db.models import Sum

from benchmarks.data import Scenario, build, near_duplicate, sentences
from comments.models import Comment, CommentSupport
from consolidation.models import CommentCount
from consolidation.services.counts import count_drift
from consultations.models import Section

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_generator_writes_the_requested_counts():
    scenario = Scenario(size=200, sections=20, organisations=8)
    built = build(scenario)

    main = Comment.objects.filter(round_id=built.main_round_id)
    assert main.count() == 200
    assert main.filter(section__key="hot").count() == scenario.hot == 50
    assert main.filter(section__key="quiet").count() == scenario.quiet == 10
    assert main.values("organisation").distinct().count() == 8
    assert Section.objects.filter(version__consultation__slug="bench-main").count() == 20
    assert Comment.objects.filter(round_id=built.ref_round_id).count() == scenario.ref_size == 100
    carried = Comment.objects.filter(round__version__consultation__slug="bench-carry")
    assert carried.count() == scenario.carry == 100
    # Every anchored comment quotes its section's text at the stored position.
    for comment in carried.exclude(quote_exact="").select_related("section"):
        body = comment.section.body
        assert body[comment.position_start : comment.position_end] == comment.quote_exact
    counts = dict(built.counts)
    # Other delegations' supports on a tenth of the main round's comments (issue 12), as many as written.
    supports = counts.pop("main_supports")
    assert supports == CommentSupport.objects.filter(comment__round_id=built.main_round_id).count() > 0
    assert counts == {"main": 200, "hot": 50, "quiet": 10, "ref": 100, "carry": 100}
    # COPY goes through the triggers: the feedback page's counts hold every generated comment.
    assert CommentCount.objects.filter(round_id=built.main_round_id).aggregate(n=Sum("n"))["n"] == 200
    assert count_drift() == []


def test_texts_are_varied_with_near_duplicates():
    import random

    pool = sentences(random.Random(1), count=500)
    assert len(set(pool)) == 500
    text = " ".join(pool[:3])
    assert near_duplicate(random.Random(2), text) != text
