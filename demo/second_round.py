"""Demo comments for the open round of the demo consultation (called by seed_demo).

Written through the comment services, as delegates would, so the demo shows the section
pages as a delegate finds them mid-round: drafts, submitted comments, replies, and Viet Nam's
national position. Idempotent: nothing is added once the round holds comments.
"""

from __future__ import annotations

from dataclasses import dataclass

from comments.models import Comment
from comments.services import AnchorInput, comment_create, comment_set_endorsed, national_position_submit, reply_create
from consultations.models import EngagementRound
from notifications.services import notifications_settle_mail


@dataclass(frozen=True)
class DemoComment:
    author: str
    clause: str
    quote: str  # "" for a comment on the whole section
    type: str
    body: str
    proposed_change: str = ""
    language: str = "en"
    submit: bool = True
    endorse: bool = False
    replies: tuple[tuple[str, str, str], ...] = ()  # (author, body, language)


OPEN_ROUND_COMMENTS = (
    DemoComment(
        "vn.delegate@example.org",
        "1.1.1",
        "to at least 80 per cent of the population by 2030",
        Comment.Type.TECHNICAL,
        "Viet Nam supports the target but asks that it be measured per member state, so that countries "
        "with large rural populations are not averaged away by dense urban ones.",
        "to at least 80 per cent of the population of each member state by 2030",
        endorse=True,
        replies=(
            (
                "vn.focal@example.org",
                "Agreed. We should also ask for a mid-term review of the target in 2028.",
                "en",
            ),
        ),
    ),
    DemoComment(
        "vn.delegate@example.org",
        "1.2.1",
        "starting with a few high-value cross-border uses",
        Comment.Type.GENERAL,
        "Đề nghị bổ sung ví dụ về thủ tục hải quan điện tử trong danh sách các trường hợp sử dụng "
        "xuyên biên giới ưu tiên.",
        "starting with a few high-value cross-border uses such as electronic customs clearance,",
        language="vi",
        endorse=True,
    ),
    DemoComment(
        "vn.focal@example.org",
        "2.4",
        "model contractual clauses for cross-border data flows",
        Comment.Type.TECHNICAL,
        "The model contractual clauses should remain voluntary; several member states are still "
        "completing their personal data protection laws.",
        "voluntary model contractual clauses for cross-border data flows",
        endorse=True,
    ),
    DemoComment(
        "vn.delegate@example.org",
        "1.8.1",
        "",
        Comment.Type.EDITORIAL,
        "Draft: check the wording against the regional guidance on AI governance before submitting.",
        submit=False,
    ),
    DemoComment(
        "th.delegate@example.org",
        "1.3.2",
        "the full cost of a cross-border payment",
        Comment.Type.TECHNICAL,
        "Thailand suggests naming the exchange-rate margin explicitly, as it is often the largest part "
        "of the cost and the least visible to consumers.",
        "the full cost of a cross-border payment, including the exchange-rate margin,",
        replies=(
            (
                "th.delegate@example.org",
                "For reference: our central bank publishes the margin for PromptPay cross-border links.",
                "en",
            ),
        ),
    ),
    DemoComment(
        "partner@example.org",
        "2.5",
        "common baseline requirements",
        Comment.Type.GENERAL,
        "The bank can support a regional assessment of critical information infrastructure against the "
        "baseline requirements, if member states agree on them by 2027.",
    ),
    DemoComment(
        "partner@example.org",
        "3.1",
        "",
        Comment.Type.EDITORIAL,
        "Please define 'median download speed' by reference to an open measurement methodology.",
    ),
)


def seed_comments(*, consultation, users: dict) -> int:
    """Add the demo comments to the consultation's open round; returns how many it created."""
    engagement_round = (
        EngagementRound.objects.filter(consultation=consultation, state=EngagementRound.State.OPEN)
        .select_related("consultation", "version")
        .first()
    )
    if engagement_round is None or engagement_round.comments.exists():
        return 0
    sections = {s.number: s for s in engagement_round.version.sections.all()}
    created = 0
    for spec in OPEN_ROUND_COMMENTS:
        section = sections[spec.clause]
        anchor = None
        if spec.quote:
            start = section.body.index(spec.quote)
            anchor = AnchorInput(exact=spec.quote, start=start, end=start + len(spec.quote))
        comment = comment_create(
            actor=users[spec.author],
            engagement_round=engagement_round,
            section=section,
            comment_type=spec.type,
            body=spec.body,
            proposed_change=spec.proposed_change,
            language=spec.language,
            anchor=anchor,
            submit=spec.submit,
        )
        created += 1
        for author, body, language in spec.replies:
            reply_create(actor=users[author], comment=comment, body=body, language=language)
        if spec.endorse:
            comment_set_endorsed(actor=users["vn.focal@example.org"], comment=comment, endorsed=True)
    national_position_submit(
        actor=users["vn.focal@example.org"],
        engagement_round=engagement_round,
        note="Viet Nam's position on version 0.2, agreed with the line ministries.",
    )
    # The demo's replies and rounds were not really written or opened by anyone: their
    # notifications stay in the demo inboxes (unread) but no e-mail goes out for them.
    notifications_settle_mail(consultation_id=engagement_round.consultation_id)
    return created
