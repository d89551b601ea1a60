"""Demo data for the closed first round: what delegations said about version 0.1.

The first round closed before the demo existed, so its comments are recorded as history
(created inside the round's window, each with its first revision and an audit entry) rather
than through comment_create, which refuses writes to a closed round. Delegates of the other
member states and of the second partner are created without a usable password: they exist
so that comments have real authors, not to log in.

Each entry names the clause of version 0.1 and, where the secretariat decided on it, the
disposition and the clause of version 0.2 the decision led to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from accounts.models import Organisation, User
from audit.services import audit_log
from comments.anchoring import anchor_check
from comments.models import Comment, CommentRevision, NationalPosition
from comments.services import record_revision
from consolidation.models import Disposition
from consultations.models import EngagementRound, Role
from consultations.services import ensure_participation

ACCEPTED = Disposition.Decision.ACCEPTED
IN_PART = Disposition.Decision.ACCEPTED_IN_PART
NOTED = Disposition.Decision.NOTED
NOT_ACCEPTED = Disposition.Decision.NOT_ACCEPTED
OUT_OF_SCOPE = Disposition.Decision.OUT_OF_SCOPE

# Delegates who exist for the first round's comments (no usable password).
EXTRA_DELEGATES = (
    ("bn.delegate@example.org", "Hajah Nurul Aini", "Brunei Darussalam"),
    ("kh.delegate@example.org", "Sok Chanthy", "Cambodia"),
    ("id.delegate@example.org", "Dewi Lestari", "Indonesia"),
    ("la.delegate@example.org", "Somphone Vongsa", "Lao PDR"),
    ("my.delegate@example.org", "Aisyah binti Rahman", "Malaysia"),
    ("mm.delegate@example.org", "Thandar Win", "Myanmar"),
    ("ph.delegate@example.org", "Maria Santos", "Philippines"),
    ("sg.delegate@example.org", "Tan Wei Ming", "Singapore"),
    ("tl.delegate@example.org", "Joana da Costa", "Timor-Leste"),
    ("idcu.partner@example.org", "Jonas Berger", "International Digital Connectivity Union"),
)


@dataclass(frozen=True)
class HistoricalComment:
    author: str
    clause: str  # clause number in version 0.1
    quote: str  # "" for the whole section
    type: str
    body: str
    proposed_change: str = ""
    language: str = "en"
    endorsed: bool = False
    decision: str = ""  # "" while the secretariat has not decided
    response: str = ""
    changed_clause: str = ""  # the clause of version 0.2 the decision led to
    proposal: str = ""  # a consultant's proposal awaiting the secretariat


RURAL = "to at least 80 per cent of the population by 2030"

FIRST_ROUND_COMMENTS = (
    # Five delegations ask, in nearly the same words, for rural and border areas first.
    HistoricalComment(
        "kh.delegate@example.org",
        "1.1.1",
        RURAL,
        Comment.Type.TECHNICAL,
        "The 80 per cent target should give priority to rural districts and border areas, where coverage is weakest.",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.1.1",
        response="The second period now gives priority to rural districts and border areas.",
    ),
    HistoricalComment(
        "la.delegate@example.org",
        "1.1.1",
        RURAL,
        Comment.Type.TECHNICAL,
        "The target of 80 per cent should give priority to rural and border areas where coverage is weakest.",
        decision=ACCEPTED,
        changed_clause="1.1.1",
        response="The second period now gives priority to rural districts and border areas.",
    ),
    HistoricalComment(
        "mm.delegate@example.org",
        "1.1.1",
        RURAL,
        Comment.Type.GENERAL,
        "Priority should be given to rural districts and border areas within the 80 per cent target.",
        decision=ACCEPTED,
        changed_clause="1.1.1",
        response="The second period now gives priority to rural districts and border areas.",
    ),
    HistoricalComment(
        "vn.delegate@example.org",
        "1.1.1",
        RURAL,
        Comment.Type.TECHNICAL,
        "Đề nghị ưu tiên các huyện nông thôn và vùng biên giới trong mục tiêu phủ sóng 80% dân số.",
        "đến năm 2030 phủ sóng ít nhất 80% dân số, ưu tiên các huyện nông thôn và vùng biên giới",
        language="vi",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.1.1",
        response="The second period now gives priority to rural districts and border areas.",
    ),
    HistoricalComment(
        "ph.delegate@example.org",
        "1.1.1",
        RURAL,
        Comment.Type.GENERAL,
        "Coverage targets should also reach remote island communities, not only the mainland population.",
        decision=IN_PART,
        changed_clause="1.1.1",
        response="Border and rural areas are prioritised; island communities fall under 1.4.1.",
    ),
    HistoricalComment(
        "sg.delegate@example.org",
        "1.1.1",
        "spectrum for future mobile systems",
        Comment.Type.TECHNICAL,
        "Name 6G explicitly and encourage joint research and pilots, so that the region is ready for 2030.",
        "spectrum for 6G",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.1.1",
        response="6G is named, with joint research and pilot deployments.",
    ),
    HistoricalComment(
        "id.delegate@example.org",
        "1.1.4",
        "",
        Comment.Type.EDITORIAL,
        "Submarine cables are part of the same regional backbone: merge 1.1.4 into 1.1.3 on cross-border connectivity.",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.1.3",
        response="Clause 1.1.4 is merged into 1.1.3.",
    ),
    HistoricalComment(
        "ph.delegate@example.org",
        "1.1.4",
        "simplify permits for repair ships",
        Comment.Type.TECHNICAL,
        "Permits for repair ships should be granted within days, with a regional list of pre-cleared vessels.",
        decision=NOTED,
        response="For the implementation plan; the clause keeps the general commitment.",
    ),
    # The same sentence, word for word, from two delegations.
    HistoricalComment(
        "bn.delegate@example.org",
        "1.3.2",
        "at low cost",
        Comment.Type.GENERAL,
        "Consumers should be told the full cost of a payment before they confirm it.",
        decision=ACCEPTED,
        changed_clause="1.3.2",
        response="The full cost, including the exchange-rate margin, is shown before confirmation.",
    ),
    HistoricalComment(
        "tl.delegate@example.org",
        "1.3.2",
        "at low cost",
        Comment.Type.GENERAL,
        "Consumers should be told the full cost of a payment before they confirm it.",
        decision=ACCEPTED,
        changed_clause="1.3.2",
        response="The full cost, including the exchange-rate margin, is shown before confirmation.",
    ),
    HistoricalComment(
        "th.delegate@example.org",
        "1.3.2",
        "Central banks and payment system operators will be encouraged",
        Comment.Type.TECHNICAL,
        "Central banks are independent: member states can support them, not instruct them.",
        "Member states will support their central banks and payment system operators in linking",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.3.2",
        response="With the wording proposed by Thailand.",
    ),
    HistoricalComment(
        "my.delegate@example.org",
        "1.3.2",
        "",
        Comment.Type.TECHNICAL,
        "Links between payment systems need common standards for messaging and fraud prevention.",
        decision=IN_PART,
        changed_clause="1.3.2",
        response="Common standards are named; their content is left to the central banks.",
    ),
    HistoricalComment(
        "tl.delegate@example.org",
        "1.4.2",
        "groups at risk of exclusion",
        Comment.Type.GENERAL,
        "Name persons with disabilities and older persons explicitly among the groups at risk of exclusion.",
        decision=NOTED,
        response="The inclusion indicators in 3.4 report by these groups.",
    ),
    HistoricalComment(
        "idcu.partner@example.org",
        "1.4.2",
        "a regional digital skills framework",
        Comment.Type.GENERAL,
        "The Union can contribute its digital skills assessment toolkit to the regional framework.",
        decision=NOTED,
        response="To be taken up in the implementation plan, with thanks.",
    ),
    HistoricalComment(
        "sg.delegate@example.org",
        "1.8.1",
        "interoperable with it",
        Comment.Type.TECHNICAL,
        "An AI system assessed in one member state should not have to be assessed again in another.",
        "interoperable with it, so that an AI system assessed in one member state can be deployed in another "
        "without the assessment being repeated",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.8.1",
        response="With the proposed wording.",
    ),
    HistoricalComment(
        "my.delegate@example.org",
        "1.8.1",
        "High-risk uses of AI in the public sector",
        Comment.Type.TECHNICAL,
        "Public-sector AI that affects people's rights needs human oversight while in use, not only an "
        "assessment before deployment.",
        decision=ACCEPTED,
        changed_clause="1.8.1",
        response="Human oversight while in use is added.",
    ),
    HistoricalComment(
        "id.delegate@example.org",
        "1.8",
        "",
        Comment.Type.GENERAL,
        "Add a clause on regional AI cooperation: shared research centres and open models for ASEAN languages.",
        endorsed=True,
        decision=ACCEPTED,
        changed_clause="1.8.3",
        response="New clause 1.8.3 on regional AI cooperation and open models.",
    ),
    HistoricalComment(
        "ph.delegate@example.org",
        "2.4",
        "model contractual clauses",
        Comment.Type.TECHNICAL,
        "Model contractual clauses should stay voluntary while several member states complete their data "
        "protection laws.",
        decision=NOT_ACCEPTED,
        response="The clauses are already voluntary under the regional framework.",
    ),
    HistoricalComment(
        "vn.delegate@example.org",
        "2.4",
        "with regulators cooperating on enforcement",
        Comment.Type.GENERAL,
        "Cần làm rõ cơ chế hợp tác giữa các cơ quan bảo vệ dữ liệu cá nhân khi xử lý vụ việc xuyên biên giới.",
        language="vi",
        endorsed=True,
        proposal="noted",
    ),
    HistoricalComment(
        "mm.delegate@example.org",
        "2.5",
        "joint exercises",
        Comment.Type.TECHNICAL,
        "Joint exercises should be held every year so that response teams know each other before an incident.",
        decision=ACCEPTED,
        changed_clause="2.5",
        response="Annual joint exercises.",
    ),
    HistoricalComment(
        "bn.delegate@example.org",
        "2.5",
        "",
        Comment.Type.TECHNICAL,
        "Add a regional protocol for incidents that affect several member states at once.",
        decision=ACCEPTED,
        changed_clause="2.5",
        response="A regional coordination protocol is added.",
    ),
    HistoricalComment(
        "sg.delegate@example.org",
        "2.5",
        "",
        Comment.Type.TECHNICAL,
        "Critical information infrastructure should be protected against common baseline requirements.",
        decision=ACCEPTED,
        changed_clause="2.5",
        response="Common baseline requirements are added.",
    ),
    HistoricalComment(
        "partner@example.org",
        "3.1",
        "",
        Comment.Type.GENERAL,
        "Report the share of data centre energy from renewable sources, to follow the green transformation.",
        proposal="accepted",
    ),
    HistoricalComment(
        "tl.delegate@example.org",
        "4.1",
        "",
        Comment.Type.GENERAL,
        "Timor-Leste asks for a transitional period for commitments it joins as the newest member state.",
    ),
    HistoricalComment(
        "kh.delegate@example.org",
        "4.2",
        "",
        Comment.Type.GENERAL,
        "The masterplan should propose a common ASEAN digital currency by 2030.",
        decision=OUT_OF_SCOPE,
        response="Monetary policy is outside the digital ministers' remit.",
    ),
    HistoricalComment(
        "th.delegate@example.org",
        "3.2",
        "",
        Comment.Type.EDITORIAL,
        "Define 'fully online' so that member states report the same thing.",
    ),
)

# Delegations whose focal point submitted a national position in the first round.
POSITIONS = ("Viet Nam", "Thailand", "Indonesia", "Singapore", "Cambodia")


def ensure_first_round_people(*, consultation, organisations: dict[str, Organisation]) -> dict[str, User]:
    """The delegates who wrote the first round's comments (they cannot log in)."""
    people = {}
    for email, name, organisation_name in EXTRA_DELEGATES:
        organisation = organisations[organisation_name]
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, None, full_name=name, organisation=organisation)
        role = Role.PARTNER if organisation.kind == Role.PARTNER else Role.MEMBER_STATE
        ensure_participation(
            consultation=consultation, user=user, organisation=organisation, role=role, is_focal_point=False
        )
        people[email] = user
    return people


def record_first_round_comments(*, engagement_round: EngagementRound, users: dict[str, User]) -> list[Comment]:
    """Record the first round's comments as they were made; nothing if the round already has some."""
    if engagement_round.comments.exists():
        return []
    sections = {s.number: s for s in engagement_round.version.sections.all()}
    window = engagement_round.closes_at - engagement_round.opens_at
    focal_points = {
        p.organisation_id: p.user
        for p in engagement_round.consultation.participations.filter(is_focal_point=True).select_related("user")
    }
    created = []
    with transaction.atomic():
        for index, spec in enumerate(FIRST_ROUND_COMMENTS):
            author = users[spec.author]
            organisation = author.organisation
            if organisation is None:
                raise ValueError(f"The demo delegate {author.email} has no organisation.")
            section = sections[spec.clause]
            anchor = {}
            if spec.quote:
                checked = anchor_check(section.body, exact=spec.quote)
                anchor = {
                    "quote_exact": checked.exact,
                    "quote_prefix": checked.prefix,
                    "quote_suffix": checked.suffix,
                    "position_start": checked.start,
                    "position_end": checked.end,
                }
            at = engagement_round.opens_at + window * (index + 1) / (len(FIRST_ROUND_COMMENTS) + 2)
            comment = Comment.objects.create(
                round=engagement_round,
                section=section,
                author=author,
                organisation=organisation,
                type=spec.type,
                body=spec.body,
                proposed_change=spec.proposed_change,
                language=spec.language,
                status=Comment.Status.SUBMITTED,
                submitted_at=at,
                is_endorsed=spec.endorsed,
                endorsed_by=focal_points.get(organisation.pk) if spec.endorsed else None,
                endorsed_at=at + timedelta(days=1) if spec.endorsed else None,
                **anchor,
            )
            # created_at/updated_at are automatic: put them back inside the round's window.
            Comment.objects.filter(pk=comment.pk).update(created_at=at, updated_at=at)
            record_revision(comment, actor=author, action=CommentRevision.Action.SUBMITTED)
            audit_log(
                actor=author,
                action="comment.submitted",
                target=comment,
                consultation=engagement_round.consultation,
                data={"recorded": "demo history"},
            )
            created.append(comment)
        for organisation_name in POSITIONS:
            endorsed = [c for c in created if c.organisation.name == organisation_name and c.is_endorsed]
            if endorsed:
                NationalPosition.objects.create(
                    round=engagement_round,
                    organisation=endorsed[0].organisation,
                    submitted_at=engagement_round.closes_at - timedelta(days=1),
                    endorsed_count=len(endorsed),
                )
    return created


def decide_first_round(
    *, engagement_round: EngagementRound, next_version, secretariat: User, consultant: User, comments: list[Comment]
) -> int:
    """Consolidate the first round and record the secretariat's dispositions, as the demo shows them.

    Runs through the consolidation services: a consolidation run computed in-process, the
    consultants' proposals, the secretariat's decisions linked to the clauses of the next
    version they changed, and the carry-over of the comments still open. Returns how many
    dispositions it recorded.
    """
    from consolidation.models import ConsolidationRun
    from consolidation.services.aggregation import consolidation_execute
    from consolidation.services.carry_over import carry_over_comments
    from consolidation.services.dispositions import disposition_propose, disposition_record

    new_sections = {s.number: s for s in next_version.sections.all()}
    recorded = 0
    for spec, comment in zip(FIRST_ROUND_COMMENTS, comments, strict=True):
        if spec.proposal:
            disposition_propose(
                actor=consultant,
                comment=comment,
                decision=spec.proposal,
                response="Proposed by the drafting consultants; for the secretariat to confirm.",
            )
        if spec.decision:
            disposition_record(
                actor=secretariat,
                comment=comment,
                decision=spec.decision,
                response=spec.response,
                section_change=new_sections.get(spec.changed_clause),
            )
            recorded += 1
    run = ConsolidationRun.objects.create(round=engagement_round, requested_by=secretariat)
    consolidation_execute(run_id=run.pk)
    carry_over_comments(version_id=next_version.pk)
    return recorded
