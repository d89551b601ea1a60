"""Where carry-over lands each comment, pinned on a varied fixture: every method, repeated passages,
ties between sections, a home section deleted, short quotes, and a third version edited again.

The expected landings are concrete (method, section, range, text, score): a faster search must
land every comment exactly where these say.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comments.anchoring import anchor_at
from comments.models import Comment
from consolidation.models import CarriedAnchor, Disposition
from consolidation.services.carry_over import carry_over_comments
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.carry_over import add_clause, reviewed_round

Method = CarriedAnchor.Method

OLD = {
    "report": (
        10,
        "The secretariat will publish a progress report every year. "
        "Member states will review the progress report every year before the summit.",
    ),
    "subsidy": (11, "Broadband subsidies will target rural households with low incomes."),
    "data": (
        12,
        "Data protection authorities will cooperate on cross-border investigations. "
        "Open data portals will publish public sector datasets in machine-readable formats.",
    ),
    "near": (13, "Cloud services will be procured jointly."),
    "legacy": (14, "Copper networks will be retired by 2030 in every member state."),
    "spectrum": (15, "Satellite links will serve the islands. Spectrum auctions will be coordinated regionally."),
    "skills": (16, "Digital skills programmes will reach teachers and older people across the region."),
    "trade": (17, "Cross-border e-commerce rules will be harmonised across the region."),
    "far": (20, "Interoperability frameworks will be updated."),
}
NEW = {
    # The two sentences swapped: the comment on the second "progress report every year" follows it.
    "report": (
        10,
        "Member states will review the progress report every year before the summit. "
        "The secretariat will publish a progress report every year.",
    ),
    "subsidy": (11, "Broadband subsidies will target remote rural households with low and middle incomes."),
    # Both sentences left this clause; each is now in "near" and in "far".
    "data": (12, "Cybersecurity agencies will share threat intelligence."),
    "near": (
        13,
        "Data protection authorities will cooperate on cross-border data flows. "
        "Open data portals will publish public sector datasets every quarter. "
        "Cloud services will be procured jointly by 2030. "
        "Cross-border e-commerce rules will be harmonised within the region.",
    ),
    # "legacy" is deleted; its sentence, edited, is in "far".
    "spectrum": (15, "Satellite links will serve the islands."),
    "skills": (16, "Digital skills programmes will reach teachers and older people across the region."),
    "far": (
        20,
        "Data protection authorities will cooperate on cross-border enforcement. "
        "Open data portals will publish public sector datasets in machine-readable formats. "
        "Legacy copper networks will be retired by 2032 in each member state. "
        "Interoperability frameworks will be updated. "
        "Cross-border e-commerce rules will be harmonised within the region.",
    ),
    # Its sentence, edited, is in "near" (4 sections away) and in "far" (3 away).
    "trade": (17, "Customs procedures will go paperless."),
}


def _version(consultation, number, previous, bodies):
    major, minor = (int(p) for p in number.split("."))
    version = factories.DraftVersionFactory(
        consultation=consultation, number=number, major=major, minor=minor, previous=previous
    )
    for key, (position, body) in bodies.items():
        add_clause(version, key=key, number=str(position), heading=key.title(), body=body, position=position)
    return version


def _comment(section, engagement_round, author, quote="", occurrence=0):
    if not quote:
        return CommentFactory(section=section, round=engagement_round, author=author, status=Comment.Status.SUBMITTED)
    start = -1
    for _ in range(occurrence + 1):
        start = section.body.index(quote, start + 1)
    anchor = anchor_at(section.body, start, start + len(quote))
    return CommentFactory(
        section=section,
        round=engagement_round,
        author=author,
        status=Comment.Status.SUBMITTED,
        quote_exact=anchor.exact,
        quote_prefix=anchor.prefix,
        quote_suffix=anchor.suffix,
        position_start=anchor.start,
        position_end=anchor.end,
    )


@pytest.fixture
def varied(consultation, vn_delegate):
    old = factories.DraftVersionFactory(consultation=consultation, number="0.5", major=0, minor=5)
    for key, (position, body) in OLD.items():
        add_clause(old, key=key, number=str(position), heading=key.title(), body=body, position=position)
    sections = {s.key: s for s in old.sections.all()}
    engagement_round = reviewed_round(old)

    def comment(key, quote="", occurrence=0):
        return _comment(sections[key], engagement_round, vn_delegate, quote, occurrence)

    comments = {
        "second_occurrence": comment("report", "progress report every year", occurrence=1),
        "first_occurrence": comment("report", "progress report every year"),
        "edited": comment("subsidy", "target rural households with low incomes"),
        "context_beats_distance": comment("data", "Open data portals will publish public sector datasets"),
        "nearer_on_a_tie": comment("data", "Data protection authorities will cooperate"),
        "home_deleted_edited": comment("legacy", "Copper networks will be retired by 2030"),
        "home_deleted_short": comment("legacy", "by 2030"),
        "deleted_passage": comment("spectrum", "Spectrum auctions will be coordinated regionally"),
        "short_kept": comment("spectrum", "islands"),
        "unchanged": comment("skills", "teachers and older people"),
        "edited_elsewhere": comment("trade", "e-commerce rules will be harmonised across the region"),
        "whole": comment("subsidy"),
        "whole_deleted": comment("legacy"),
    }
    new = _version(consultation, "0.6", old, NEW)
    return {"old": old, "new": new, "comments": comments, "consultation": consultation}


def landings(version) -> dict:
    anchors = CarriedAnchor.objects.filter(version=version).select_related("section", "comment")
    return {
        a.comment_id: (
            a.method,
            a.section.key if a.section else None,
            a.position_start,
            a.position_end,
            a.quote_exact,
            a.score,
        )
        for a in anchors
    }


THIRD = {
    "subsidy": (
        11,
        "From 2027, broadband subsidies will target remote rural households with low and middle incomes "
        "and small firms.",
    ),
    "spectrum": (15, "Satellite links will serve the islands. Spectrum auctions will be coordinated regionally."),
    "near": (13, "Cloud services will be procured jointly."),
    "far": (
        20,
        "Open data portals will publish all public sector datasets in machine-readable formats. "
        "Legacy copper networks will be retired by 2033 in each member state.",
    ),
}

ORPHAN = (Method.ORPHANED, None, None, None, "", 0.0)


def test_every_comment_lands_where_expected(varied):
    result = carry_over_comments(version_id=varied["new"].pk)
    got = landings(varied["new"])
    expected = {
        # The occurrence whose context matches: the second one, now first in the clause.
        "second_occurrence": (Method.EXACT, "report", 30, 56, "progress report every year", 100.0),
        "first_occurrence": (Method.EXACT, "report", 107, 133, "progress report every year", 100.0),
        # The edited passage, widened to its inserted words.
        "edited": (
            Method.FUZZY, "subsidy", 25, 83, "target remote rural households with low and middle incomes", 82.5,
        ),
        # In "near" (1 away) and "far" (8 away): "far" keeps the passage's context.
        "context_beats_distance": (
            Method.MOVED, "far", 72, 125, "Open data portals will publish public sector datasets", 100.0,
        ),
        # The same context in both: the nearer section.
        "nearer_on_a_tie": (Method.MOVED, "near", 0, 42, "Data protection authorities will cooperate", 100.0),
        "home_deleted_edited": (Method.MOVED, "far", 162, 201, "copper networks will be retired by 2032", 94.9),
        # Edited and moved to "near" (4 away) and "far" (3 away), the same score: the nearer.
        "edited_elsewhere": (
            Method.MOVED, "far", 282, 335, "e-commerce rules will be harmonised within the region", 88.7,
        ),
        # Too short to look for elsewhere, though "by 2030" is in "near".
        "home_deleted_short": ORPHAN,
        "deleted_passage": (Method.ORPHANED, "spectrum", None, None, "", 0.0),
        "short_kept": (Method.EXACT, "spectrum", 31, 38, "islands", 100.0),
        "unchanged": (Method.EXACT, "skills", 37, 62, "teachers and older people", 100.0),
        "whole": (Method.SECTION, "subsidy", None, None, "", 100.0),
        "whole_deleted": ORPHAN,
    }  # fmt: skip
    assert {name: got[c.pk] for name, c in varied["comments"].items()} == expected
    assert result == {"section": 1, "exact": 4, "fuzzy": 1, "moved": 4, "orphaned": 3, "total": 13}
    for name, (_method, key, start, end, quote, _score) in expected.items():
        if start is not None:
            assert NEW[key][1][start:end] == quote, name


def test_a_third_version_follows_where_each_comment_landed_in_the_second(varied):
    carry_over_comments(version_id=varied["new"].pk)
    # Decided since: no longer carried, though it has a landing in 0.6 (between two that do).
    Disposition.objects.create(comment=varied["comments"]["first_occurrence"], decision=Disposition.Decision.NOTED)
    third = _version(varied["consultation"], "0.7", varied["new"], THIRD)
    result = carry_over_comments(version_id=third.pk)
    got = landings(third)
    expected = {
        # Found with the text it landed on in 0.6, unchanged since.
        "edited": (
            Method.EXACT, "subsidy", 36, 94, "target remote rural households with low and middle incomes", 100.0,
        ),
        # Its 0.6 landing, edited again, in a section of another key ("data" is gone).
        "context_beats_distance": (
            Method.MOVED, "far", 0, 57, "Open data portals will publish all public sector datasets", 92.5,
        ),
        "home_deleted_edited": (Method.MOVED, "far", 94, 133, "copper networks will be retired by 2033", 97.4),
        # Orphaned in 0.6, back in 0.7: found with its own quote.
        "deleted_passage": (
            Method.EXACT, "spectrum", 40, 88, "Spectrum auctions will be coordinated regionally", 100.0,
        ),
        "short_kept": (Method.EXACT, "spectrum", 31, 38, "islands", 100.0),
        "whole": (Method.SECTION, "subsidy", None, None, "", 100.0),
    }  # fmt: skip
    for name in ("second_occurrence", "nearer_on_a_tie", "home_deleted_short", "unchanged",
                 "edited_elsewhere", "whole_deleted"):  # fmt: skip
        expected[name] = ORPHAN
    assert {name: got[c.pk] for name, c in varied["comments"].items() if c.pk in got} == expected
    assert result == {"section": 1, "exact": 3, "fuzzy": 0, "moved": 2, "orphaned": 6, "total": 12}


def test_queries_do_not_grow_with_the_comments(varied, vn_delegate):
    """Loading, landing and writing take the same queries for 13 comments as for 63."""
    carry_over_comments(version_id=varied["new"].pk)
    with CaptureQueriesContext(connection) as few:
        carry_over_comments(version_id=varied["new"].pk)
    old_sections = {s.key: s for s in varied["old"].sections.all()}
    engagement_round = Comment.objects.get(pk=varied["comments"]["whole"].pk).round
    for i in range(50):
        key = list(OLD)[i % len(OLD)]
        _comment(old_sections[key], engagement_round, vn_delegate, OLD[key][1][:30] if i % 2 else "")
    with CaptureQueriesContext(connection) as many:
        result = carry_over_comments(version_id=varied["new"].pk)
    assert result["total"] == 63
    assert CarriedAnchor.objects.filter(version=varied["new"]).count() == 63
    assert len(many) == len(few)
