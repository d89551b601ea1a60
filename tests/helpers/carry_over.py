"""A version 0.1 with comments of every kind in a closed round, and its successor 0.2: carry-over's world."""

from datetime import timedelta

from django.utils import timezone

from comments.anchoring import anchor_at
from comments.models import Comment
from consultations.models import EngagementRound, Section
from tests import factories
from tests.factories import CommentFactory

OLD_5G = "Member states will extend 5G coverage to all urban areas by 2028."
NEW_5G = "Member states will extend 5G coverage to all urban and peri-urban areas by 2030."
OLD_CYBER = (
    "Each member state will establish a national computer emergency response team. "
    "Cross-border incident reporting will follow a common template."
)
NEW_CYBER = "Each member state will establish a national computer emergency response team."
OLD_DC = "Regional data centres will run on renewable energy."
NEW_DC = (
    "Regional data centres will run on renewable energy. "
    "Cross-border incident reporting will follow a common template agreed by the regulators."
)
LEGACY = "Copper networks will be retired by 2030 in every member state."


def add_clause(version, *, key, number, heading, body, position, parent=None):
    return factories.SectionFactory(
        version=version, parent=parent, key=key, number=number, heading=heading, body=body, position=position, depth=2
    )


def reviewed_round(version, **fields):
    """The round 0.1 was reviewed in: closed five days ago (fields override)."""
    now = timezone.now()
    defaults = {
        "title": "First stakeholder engagement",
        "state": EngagementRound.State.CLOSED,
        "opens_at": now - timedelta(days=20),
        "closes_at": now - timedelta(days=5),
        "final_closes_at": now - timedelta(days=5),
    }
    return factories.EngagementRoundFactory(version=version, **{**defaults, **fields})


def anchored(section, quote, **fields):
    """A submitted comment on `quote` (its first occurrence) in `section`, with W3C selectors."""
    start = section.body.index(quote)
    anchor = anchor_at(section.body, start, start + len(quote))
    fields.setdefault("status", Comment.Status.SUBMITTED)
    return CommentFactory(
        section=section,
        quote_exact=anchor.exact,
        quote_prefix=anchor.prefix,
        quote_suffix=anchor.suffix,
        position_start=anchor.start,
        position_end=anchor.end,
        **fields,
    )


def build_old_version(version):
    """Version 0.1 (the shared fixture) with two more clauses: cybersecurity and legacy networks."""
    chapter = version.sections.get(key="infra")
    add_clause(
        version, key="infra-cyber", number="1.1.3", heading="Cybersecurity", body=OLD_CYBER, position=5, parent=chapter
    )
    add_clause(
        version, key="infra-legacy", number="1.1.4", heading="Legacy networks", body=LEGACY, position=6, parent=chapter
    )
    return {s.key: s for s in version.sections.all()}


def build_new_version(consultation, previous, number="0.2"):
    """Version 0.2: an AI clause inserted first (renumbering the others), 5G edited, a sentence
    moved from cybersecurity to data centres, legacy networks deleted."""
    major, minor = (int(p) for p in number.split("."))
    new = factories.DraftVersionFactory(
        consultation=consultation, number=number, major=major, minor=minor, previous=previous
    )
    component = factories.SectionFactory(
        version=new, key="outcomes", kind=Section.Kind.COMPONENT, number="1", heading="Strategic outcomes",
        body="", position=1, depth=0,
    )  # fmt: skip
    chapter = factories.SectionFactory(
        version=new, parent=component, key="infra", kind=Section.Kind.CHAPTER, number="1.1",
        heading="Seamless and inclusive digital infrastructure", body="", position=2, depth=1,
    )  # fmt: skip
    add_clause(
        new,
        key="infra-ai",
        number="1.1.1",
        heading="Artificial intelligence",
        body="Member states will adopt common principles for trustworthy artificial intelligence.",
        position=3,
        parent=chapter,
    )
    add_clause(
        new, key="infra-5g", number="1.1.2", heading="5G and 6G networks", body=NEW_5G, position=4, parent=chapter
    )
    add_clause(new, key="infra-dc", number="1.1.3", heading="Data centres", body=NEW_DC, position=5, parent=chapter)
    add_clause(
        new, key="infra-cyber", number="1.1.4", heading="Cybersecurity", body=NEW_CYBER, position=6, parent=chapter
    )
    return new


def build_world(consultation, version, vn_delegate, th_delegate, **round_fields):
    """Comments of every kind on 0.1, in a closed round; 0.2 built but not yet carried to."""
    old = build_old_version(version)
    engagement_round = reviewed_round(version, **round_fields)
    comments = {
        "exact": anchored(old["infra-dc"], "run on renewable energy", round=engagement_round, author=vn_delegate),
        "fuzzy": anchored(
            old["infra-5g"], "extend 5G coverage to all urban areas", round=engagement_round, author=th_delegate
        ),
        "moved": anchored(
            old["infra-cyber"],
            "Cross-border incident reporting will follow a common template",
            round=engagement_round,
            author=vn_delegate,
        ),
        "deleted": anchored(
            old["infra-legacy"], "Copper networks will be retired", round=engagement_round, author=th_delegate
        ),
        "short": anchored(old["infra-5g"], "by 2028", round=engagement_round, author=vn_delegate),
        "whole": CommentFactory(
            section=old["infra-5g"], round=engagement_round, author=vn_delegate, status=Comment.Status.SUBMITTED
        ),
        "whole_deleted": CommentFactory(
            section=old["infra-legacy"], round=engagement_round, author=th_delegate, status=Comment.Status.SUBMITTED
        ),
        "draft": anchored(
            old["infra-dc"],
            "Regional data centres",
            round=engagement_round,
            author=vn_delegate,
            status=Comment.Status.DRAFT,
        ),  # fmt: skip
        "withdrawn": anchored(
            old["infra-dc"],
            "Regional data centres",
            round=engagement_round,
            author=th_delegate,
            status=Comment.Status.WITHDRAWN,
        ),  # fmt: skip
        "decided": anchored(old["infra-dc"], "Regional data centres", round=engagement_round, author=th_delegate),
        "proposed": anchored(old["infra-dc"], "data centres", round=engagement_round, author=th_delegate),
    }
    factories.DispositionFactory(
        comment=comments["decided"], decision=factories.Disposition.Decision.NOTED, response="Noted."
    )
    factories.DispositionFactory(
        comment=comments["proposed"], proposed_decision=factories.Disposition.Decision.ACCEPTED
    )
    new = build_new_version(consultation, version)
    return {"old": version, "new": new, "round": engagement_round, "comments": comments}
