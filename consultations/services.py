"""Every write to consultations, rounds, versions and sections.

Public functions check the actor's permission and the object's state, validate, lock, and
then change data; they raise ValidationError (a message a secretariat understands) or
PermissionDenied, and change nothing when they do. Tasks and views stay thin and call these.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from audit.services import audit_changes, audit_log
from config import jobs
from config.jobs import enqueue_after_commit
from config.text import clean_name, clean_text

from . import line_numbers
from .models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Invitation,
    Participation,
    Phase,
    Role,
    RoundExtension,
    Section,
)
from .rules import is_site_admin
from .signals import round_closed, round_opened, version_published

logger = logging.getLogger(__name__)


def _require(user, perm: str, consultation: Consultation) -> None:
    if not user.has_perm(perm, consultation):
        raise PermissionDenied(_("You are not allowed to do this in this consultation."))


# --- consultations and phases -------------------------------------------------------------


def _line(text: str) -> str:
    """A one-line text (a title, a heading) as stored: config.text.clean_text, line breaks as spaces."""
    return clean_text(text).replace("\n", " ").strip()


def consultation_create(*, actor, title: str, slug: str, description: str = "") -> Consultation:
    if not is_site_admin(actor):
        raise PermissionDenied(_("Only site admins can create consultations."))
    if Consultation.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": _("A consultation with this short name already exists.")})
    consultation = Consultation.objects.create(
        title=_line(title), slug=slug, description=clean_text(description), created_by=actor
    )
    audit_log(actor=actor, action="consultation.created", target=consultation, consultation=consultation)
    return consultation


def phase_create(*, actor, consultation: Consultation, name: str, starts_on, ends_on) -> Phase:
    _require(actor, "consultations.manage_rounds", consultation)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("A phase cannot end before it starts.")})
    position = (consultation.phases.aggregate(m=Max("position"))["m"] or 0) + 1
    phase = Phase.objects.create(
        consultation=consultation, name=_line(name), starts_on=starts_on, ends_on=ends_on, position=position
    )
    audit_log(actor=actor, action="phase.created", target=phase, consultation=consultation)
    return phase


# --- engagement rounds --------------------------------------------------------------------


def _validate_window(*, opens_at: datetime, closes_at: datetime) -> None:
    if opens_at is None or closes_at is None:
        raise ValidationError(_("A round needs both an opening and a closing time."))
    if timezone.is_naive(opens_at) or timezone.is_naive(closes_at):
        raise ValidationError(_("Opening and closing times must carry a time zone."))
    if closes_at <= opens_at:
        raise ValidationError({"closes_at": _("The round must close after it opens.")})


def _commenting_roles(commenting_roles: list[str]) -> list[str]:
    """The roles as stored (sorted, each once), or the refusal."""
    roles = sorted(set(commenting_roles))
    if not roles:
        raise ValidationError({"commenting_roles": _("Choose at least one role that may comment.")})
    if not set(roles) <= set(Role.values):
        raise ValidationError({"commenting_roles": _("Unknown role.")})
    return roles


def round_schedule(
    *,
    actor,
    version: DraftVersion,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    commenting_roles: list[str],
    visibility: str,
) -> EngagementRound:
    consultation = version.consultation
    _require(actor, "consultations.manage_rounds", consultation)
    _validate_window(opens_at=opens_at, closes_at=closes_at)
    title = _line(title)
    roles = _commenting_roles(commenting_roles)
    if visibility not in EngagementRound.Visibility.values:
        raise ValidationError({"visibility": _("Unknown visibility policy.")})
    if not version.is_published:
        raise ValidationError({"version": _("Only a published version can be put up for review.")})
    with transaction.atomic():
        # Lock the version row so that two schedulers cannot both pass the check below.
        DraftVersion.objects.select_for_update().get(pk=version.pk)
        if EngagementRound.objects.filter(
            version=version, state__in=[EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN]
        ).exists():
            raise ValidationError(
                {
                    "version": _(
                        "Version %(number)s already has a scheduled or open round. Close it before scheduling another."
                    )
                    % {"number": version.number}
                }
            )
        engagement_round = EngagementRound.objects.create(
            consultation=consultation,
            version=version,
            title=title,
            opens_at=opens_at,
            closes_at=closes_at,
            final_closes_at=closes_at,
            commenting_roles=roles,
            visibility=visibility,
            created_by=actor,
        )
        audit_log(
            actor=actor,
            action="round.scheduled",
            target=engagement_round,
            consultation=consultation,
            data={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()},
        )
    return engagement_round


def round_reschedule(
    *, actor, engagement_round: EngagementRound, opens_at: datetime, closes_at: datetime
) -> EngagementRound:
    _require(actor, "consultations.manage_rounds", engagement_round.consultation)
    _validate_window(opens_at=opens_at, closes_at=closes_at)
    with transaction.atomic():
        locked = EngagementRound.objects.select_for_update().get(pk=engagement_round.pk)
        if locked.state not in (EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN):
            raise ValidationError(_("This round has closed; its times can no longer change."))
        if locked.state == EngagementRound.State.OPEN and opens_at != locked.opens_at:
            raise ValidationError({"opens_at": _("The round is already open; only its closing time can change.")})
        latest_extension = locked.extensions.aggregate(m=Max("closes_at"))["m"]
        if latest_extension and latest_extension <= closes_at:
            raise ValidationError(
                {"closes_at": _("An organisation's extension would end before the new closing time.")}
            )
        locked.opens_at, locked.closes_at = opens_at, closes_at
        locked.final_closes_at = max(closes_at, latest_extension or closes_at)
        locked.save(update_fields=["opens_at", "closes_at", "final_closes_at"])
        audit_log(
            actor=actor,
            action="round.rescheduled",
            target=locked,
            consultation=locked.consultation,
            data={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()},
        )
    return locked


def round_set_commenting_roles(
    *, actor, engagement_round: EngagementRound, commenting_roles: list[str]
) -> EngagementRound:
    """Change which roles comment in a round that has not opened yet (once open, they are fixed)."""
    _require(actor, "consultations.manage_rounds", engagement_round.consultation)
    roles = _commenting_roles(commenting_roles)
    with transaction.atomic():
        locked = EngagementRound.objects.select_for_update().get(pk=engagement_round.pk)
        if locked.state != EngagementRound.State.SCHEDULED:
            raise ValidationError(
                {"commenting_roles": _("The round has opened; the roles that may comment can no longer change.")}
            )
        before = list(locked.commenting_roles)
        if roles != before:
            locked.commenting_roles = roles
            locked.save(update_fields=["commenting_roles"])
            audit_changes(
                actor=actor,
                action="round.roles_changed",
                target=locked,
                consultation=locked.consultation,
                before={"commenting_roles": before},
                after={"commenting_roles": roles},
            )
    return locked


def round_open_now(*, actor, engagement_round: EngagementRound) -> EngagementRound:
    """Open a scheduled round at once (the secretariat brings its opening forward)."""
    _require(actor, "consultations.manage_rounds", engagement_round.consultation)
    now = timezone.now()
    with transaction.atomic():
        locked = EngagementRound.objects.select_for_update().get(pk=engagement_round.pk)
        if locked.state != EngagementRound.State.SCHEDULED:
            raise ValidationError(_("Only a scheduled round can be opened."))
        if locked.closes_at <= now:
            raise ValidationError(_("This round's closing time has passed; reschedule it first."))
        locked.opens_at = min(locked.opens_at, now)
        locked.save(update_fields=["opens_at"])
        _do_open(locked, actor=actor, now=now)
    return locked


def round_close_now(*, actor, engagement_round: EngagementRound) -> EngagementRound:
    """Close an open round at once, extensions included."""
    _require(actor, "consultations.manage_rounds", engagement_round.consultation)
    now = timezone.now()
    with transaction.atomic():
        locked = EngagementRound.objects.select_for_update().get(pk=engagement_round.pk)
        if locked.state != EngagementRound.State.OPEN:
            raise ValidationError(_("Only an open round can be closed."))
        if locked.closes_at > now:
            # Closed before its time: the time it was meant to close stays on record.
            locked.planned_closes_at = locked.closes_at
            locked.closes_at = now
        locked.final_closes_at = now
        locked.save(update_fields=["closes_at", "final_closes_at", "planned_closes_at"])
        locked.extensions.filter(closes_at__gt=now).update(closes_at=now)
        _do_close(locked, actor=actor, now=now)
    return locked


def round_extend(
    *, actor, engagement_round: EngagementRound, organisation: Organisation, closes_at: datetime, reason: str = ""
) -> RoundExtension:
    """Give one organisation a later deadline; the round stays open for it alone."""
    consultation = engagement_round.consultation
    _require(actor, "consultations.manage_rounds", consultation)
    if closes_at is None or timezone.is_naive(closes_at):
        raise ValidationError({"closes_at": _("Give the new deadline with its date and time.")})
    if not Participation.objects.filter(consultation=consultation, organisation=organisation).exists():
        raise ValidationError({"organisation": _("This organisation does not take part in the consultation.")})
    with transaction.atomic():
        locked = EngagementRound.objects.select_for_update().get(pk=engagement_round.pk)
        # Checked against the clock too: a round past its deadline is closed even if beat
        # has not marked it yet, and an extension must not reopen it.
        if (
            locked.state not in (EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN)
            or locked.final_closes_at <= timezone.now()
        ):
            raise ValidationError(_("This round has closed; it can no longer be extended."))
        if closes_at <= locked.closes_at:
            raise ValidationError(
                {
                    "closes_at": _("An extension must end after the round closes (%(closes_at)s).")
                    % {"closes_at": date_format(timezone.localtime(locked.closes_at), "DATETIME_FORMAT")}
                }
            )
        extension, _created = RoundExtension.objects.update_or_create(
            round=locked,
            organisation=organisation,
            defaults={"closes_at": closes_at, "reason": reason, "granted_by": actor},
        )
        locked.final_closes_at = max(locked.closes_at, locked.extensions.aggregate(m=Max("closes_at"))["m"])
        locked.save(update_fields=["final_closes_at"])
        audit_log(
            actor=actor,
            action="round.extended",
            target=locked,
            consultation=consultation,
            data={"organisation": organisation.pk, "closes_at": closes_at.isoformat(), "reason": reason},
        )
    return extension


def _do_open(engagement_round: EngagementRound, *, actor, now: datetime) -> None:
    engagement_round.state = EngagementRound.State.OPEN
    engagement_round.opened_at = now
    engagement_round.save(update_fields=["state", "opened_at"])
    audit_log(actor=actor, action="round.opened", target=engagement_round, consultation=engagement_round.consultation)
    round_opened.send(sender=EngagementRound, round_id=engagement_round.pk)


def _do_close(engagement_round: EngagementRound, *, actor, now: datetime) -> None:
    engagement_round.state = EngagementRound.State.CLOSED
    engagement_round.closed_at = now
    engagement_round.save(update_fields=["state", "closed_at"])
    planned = engagement_round.planned_closes_at
    audit_log(
        actor=actor,
        action="round.closed",
        target=engagement_round,
        consultation=engagement_round.consultation,
        data={"planned_closes_at": planned.isoformat()} if planned else None,
    )
    round_closed.send(sender=EngagementRound, round_id=engagement_round.pk)


def rounds_advance(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Open the rounds whose time has come and close those whose window has ended.

    Safe to run from several workers at once: each round is claimed with a conditional
    UPDATE, so exactly one run changes it and announces it (round_opened, round_closed: the
    notifications app tells the participants); a second run finds nothing.
    """
    now = now or timezone.now()
    opened, closed = [], []
    for round_id in EngagementRound.objects.due_to_open(now).values_list("pk", flat=True):
        with transaction.atomic():
            claimed = EngagementRound.objects.filter(
                pk=round_id, state=EngagementRound.State.SCHEDULED, opens_at__lte=now
            ).update(state=EngagementRound.State.OPEN, opened_at=now)
            if claimed:
                engagement_round = EngagementRound.objects.select_related("consultation").get(pk=round_id)
                audit_log(
                    actor=None,
                    action="round.opened",
                    target=engagement_round,
                    consultation=engagement_round.consultation,
                )
                round_opened.send(sender=EngagementRound, round_id=round_id)
                opened.append(round_id)
    for round_id in EngagementRound.objects.due_to_close(now).values_list("pk", flat=True):
        with transaction.atomic():
            claimed = EngagementRound.objects.filter(
                pk=round_id, state=EngagementRound.State.OPEN, final_closes_at__lte=now
            ).update(state=EngagementRound.State.CLOSED, closed_at=now)
            if claimed:
                engagement_round = EngagementRound.objects.select_related("consultation").get(pk=round_id)
                audit_log(
                    actor=None,
                    action="round.closed",
                    target=engagement_round,
                    consultation=engagement_round.consultation,
                )
                round_closed.send(sender=EngagementRound, round_id=round_id)
                closed.append(round_id)
    return {"opened": opened, "closed": closed}


# --- versions and sections ----------------------------------------------------------------


@dataclass
class SectionDraft:
    """A section read from an uploaded document or typed in, before it is stored."""

    heading: str
    level: int  # 1 component, 2 chapter, 3 clause (deeper levels fold into clauses)
    number: str = ""
    body: str = ""
    key: str = ""
    children: list[SectionDraft] = field(default_factory=list)


def _parse_version_number(number: str) -> tuple[int, int]:
    parts = number.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValidationError({"number": _("A version number looks like 0.1, 0.2 or 1.0.")})
    return int(parts[0]), int(parts[1])


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _assign_keys(drafts: list[SectionDraft], previous: DraftVersion | None) -> None:
    """Give each new section the key of the same section in the previous version.

    Keys the caller already set (a copy of a version) are kept. Otherwise a section is the
    same when its clause number and heading both match, or failing that its heading alone,
    or its clause number alone. The strongest kind of match is made across the whole
    document before a weaker one is tried, so a clause inserted before others does not take
    the keys of the clauses it pushes down. Anything else is new and gets a fresh key.
    """
    by_both: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_heading: dict[str, list[str]] = defaultdict(list)
    by_number: dict[str, list[str]] = defaultdict(list)
    if previous is not None:
        for number, heading, key in previous.sections.order_by("position").values_list("number", "heading", "key"):
            by_both[(number, _normalise(heading))].append(key)
            by_heading[_normalise(heading)].append(key)
            if number:
                by_number[number].append(key)
    used = {draft.key for draft in drafts if draft.key}
    matchers = (
        lambda d: by_both.get((d.number, _normalise(d.heading)), []),
        lambda d: by_heading.get(_normalise(d.heading), []),
        lambda d: by_number.get(d.number, []) if d.number else [],
    )
    for match in matchers:
        for draft in drafts:
            if draft.key:
                continue
            found = next((k for k in match(draft) if k not in used), None)
            if found:
                draft.key = found
                used.add(found)
    for draft in drafts:
        if not draft.key:
            draft.key = secrets.token_hex(6)


def _flatten(tree: list[SectionDraft]) -> list[tuple[SectionDraft, SectionDraft | None, int]]:
    flat = []

    def walk(nodes, parent, depth):
        for node in nodes:
            flat.append((node, parent, depth))
            walk(node.children, node, depth + 1)

    walk(tree, None, 0)
    return flat


KIND_BY_DEPTH = [Section.Kind.COMPONENT, Section.Kind.CHAPTER, Section.Kind.CLAUSE]


def version_create(
    *,
    actor,
    consultation: Consultation,
    number: str,
    sections: list[SectionDraft],
    change_summary: str = "",
    title: str = "",
    source_name: str = "",
) -> DraftVersion:
    """Store a new draft version with its section tree. It stays a draft until published."""
    _require(actor, "consultations.manage_versions", consultation)
    major, minor = _parse_version_number(number)
    if not sections:
        raise ValidationError(_("The draft has no sections."))
    flat = _flatten(sections)
    title, change_summary, source_name = _line(title), clean_text(change_summary), _line(source_name)
    for draft, _parent, _depth in flat:
        draft.heading, draft.body = _line(draft.heading), clean_text(draft.body)
        if not draft.heading.strip():
            raise ValidationError(_("Every section needs a heading."))
        if len(draft.heading) > 300:
            raise ValidationError(
                _("A section heading is at most 300 characters: “%(heading)s…”") % {"heading": draft.heading[:60]}
            )
    with transaction.atomic():
        Consultation.objects.select_for_update().get(pk=consultation.pk)
        if consultation.versions.filter(number=number.strip()).exists():
            raise ValidationError({"number": _("Version %(number)s already exists.") % {"number": number}})
        previous = (
            consultation.versions.filter(status=DraftVersion.Status.PUBLISHED).order_by("-major", "-minor").first()
        )
        if previous and (major, minor) <= (previous.major, previous.minor):
            raise ValidationError(
                {"number": _("The new version must be numbered after %(number)s.") % {"number": previous.number}}
            )
        version = DraftVersion.objects.create(
            consultation=consultation,
            number=number.strip(),
            major=major,
            minor=minor,
            title=title,
            change_summary=change_summary,
            source_name=source_name,
            previous=previous,
            created_by=actor,
        )
        _assign_keys([d for d, _p, _d in flat], previous)
        _store_sections(version, flat)
        audit_log(
            actor=actor,
            action="version.created",
            target=version,
            consultation=consultation,
            data={"number": version.number, "sections": len(flat), "source": source_name},
        )
    return version


def _store_sections(version: DraftVersion, flat) -> None:
    created: dict[int, Section] = {}
    for position, (draft, parent, depth) in enumerate(flat, start=1):
        section = Section.objects.create(
            version=version,
            parent=created.get(id(parent)) if parent is not None else None,
            key=draft.key,
            kind=KIND_BY_DEPTH[min(depth, 2)],
            number=draft.number,
            heading=draft.heading.strip(),
            body=draft.body.strip(),
            position=position,
            depth=depth,
        )
        created[id(draft)] = section


def version_copy_for_editing(*, actor, source: DraftVersion, number: str, change_summary: str = "") -> DraftVersion:
    """Start the next version as an editable copy of an existing one; keys carry over."""
    tree = section_tree(list(source.sections.all()))

    def to_draft(node) -> SectionDraft:
        return SectionDraft(
            heading=node.section.heading,
            level=node.section.depth + 1,
            number=node.section.number,
            body=node.section.body,
            key=node.section.key,
            children=[to_draft(child) for child in node.children],
        )

    return version_create(
        actor=actor,
        consultation=source.consultation,
        number=number,
        sections=[to_draft(n) for n in tree],
        change_summary=change_summary,
        title=source.title,
        source_name=_("copy of version %(number)s") % {"number": source.number},
    )


def version_publish(*, actor, version: DraftVersion) -> DraftVersion:
    _require(actor, "consultations.manage_versions", version.consultation)
    with transaction.atomic():
        locked = DraftVersion.objects.select_for_update().get(pk=version.pk)
        if locked.is_published:
            raise ValidationError(_("Version %(number)s is already published.") % {"number": locked.number})
        if not locked.sections.exists():
            raise ValidationError(_("A version without sections cannot be published."))
        locked.status = DraftVersion.Status.PUBLISHED
        locked.published_at = timezone.now()
        _fix_line_numbers(locked)
        locked.save(update_fields=["status", "published_at", "line_length", "line_rules"])
        audit_log(actor=actor, action="version.published", target=locked, consultation=locked.consultation)
        # E.g. open comments on earlier versions follow their passages into this one (consolidation).
        version_published.send(sender=DraftVersion, version=locked)
    return locked


def _fix_line_numbers(version: DraftVersion) -> None:
    """Number the version's lines once, as it is published: its text no longer changes, nor will they.

    The line length and breaking rules used are stored on the version, each section's first line
    and line count on the section, so a later change of settings.LINE_LENGTH (or of the rules)
    leaves the numbers people cite alone.
    """
    sections = list(version.sections.order_by("position"))
    version.line_length = line_numbers.line_length()
    version.line_rules = line_numbers.CURRENT_RULES
    numbered = line_numbers.number_document(sections, width=version.line_length, rules=version.line_rules)
    for section in sections:
        lines = numbered[section.pk]
        section.first_line, section.line_count = lines.first_line, lines.line_count
    Section.objects.bulk_update(sections, ["first_line", "line_count"], batch_size=500)


def _editable_section(actor, section: Section) -> Section:
    version = section.version
    _require(actor, "consultations.manage_versions", version.consultation)
    locked_version = DraftVersion.objects.select_for_update().get(pk=version.pk)
    if locked_version.is_published:
        raise ValidationError(
            _("Version %(number)s is published and can no longer change. Start the next version to edit it.")
            % {"number": locked_version.number}
        )
    return Section.objects.select_for_update().get(pk=section.pk)


SECTION_BODY_MAX = 200_000


def section_update(*, actor, section: Section, heading: str, body: str, number: str = "") -> Section:
    heading, body, number = _line(heading), clean_text(body), _line(number)
    if not heading.strip():
        raise ValidationError({"heading": _("A section needs a heading.")})
    if len(heading) > 300:
        raise ValidationError({"heading": _("A heading is at most 300 characters.")})
    if len(body) > SECTION_BODY_MAX:
        raise ValidationError({"body": _("A section's text is at most 200,000 characters.")})
    with transaction.atomic():
        locked = _editable_section(actor, section)
        locked.heading, locked.body, locked.number = heading.strip(), body.strip(), number.strip()
        locked.save(update_fields=["heading", "body", "number"])
        audit_log(actor=actor, action="section.updated", target=locked, consultation=locked.version.consultation)
    return locked


def section_add(
    *, actor, version: DraftVersion, parent: Section | None, heading: str, number: str = "", body: str = ""
) -> Section:
    """Add a section as the last child of `parent` (or as a last top-level component)."""
    if parent is not None and parent.version_id != version.pk:
        raise ValidationError(_("The parent section belongs to another version."))
    heading, body, number = _line(heading), clean_text(body), _line(number)
    if not heading.strip():
        raise ValidationError({"heading": _("A section needs a heading.")})
    with transaction.atomic():
        _require(actor, "consultations.manage_versions", version.consultation)
        locked_version = DraftVersion.objects.select_for_update().get(pk=version.pk)
        if locked_version.is_published:
            raise ValidationError(
                _("Version %(number)s is published and can no longer change.") % {"number": version.number}
            )
        sections = list(version.sections.all())
        # Insert after the parent's last descendant, keeping document order.
        insert_after = 0
        if parent is None:
            insert_after = max((s.position for s in sections), default=0)
        else:
            subtree = {parent.pk}
            insert_after = parent.position
            for s in sorted(sections, key=lambda s: s.position):
                if s.parent_id in subtree:
                    subtree.add(s.pk)
                    insert_after = max(insert_after, s.position)
        # Shift later sections down; in two steps to keep the unique (version, position) intact.
        later = version.sections.filter(position__gt=insert_after)
        later.update(position=F("position") + 1_000_000)
        later_ids = list(version.sections.filter(position__gt=1_000_000).values_list("pk", flat=True))
        Section.objects.filter(pk__in=later_ids).update(position=F("position") - 1_000_000 + 1)
        depth = 0 if parent is None else min(parent.depth + 1, 2)
        section = Section.objects.create(
            version=version,
            parent=parent,
            key=secrets.token_hex(6),
            kind=KIND_BY_DEPTH[depth],
            number=number.strip(),
            heading=heading.strip(),
            body=body.strip(),
            position=insert_after + 1,
            depth=depth,
        )
        audit_log(actor=actor, action="section.added", target=section, consultation=version.consultation)
    return section


def section_delete(*, actor, section: Section) -> None:
    with transaction.atomic():
        locked = _editable_section(actor, section)
        audit_log(
            actor=actor,
            action="section.deleted",
            target=locked,
            consultation=locked.version.consultation,
            data={"heading": locked.heading, "number": locked.number},
        )
        locked.delete()


# --- reading helpers shared by services and selectors ------------------------------------


@dataclass
class SectionNode:
    section: Section
    children: list[SectionNode] = field(default_factory=list)
    # The comments the viewer may see on the section (signals.comment_counts_for), shown in the contents.
    comments: int = 0


def section_tree(sections: list[Section], counts: dict[int, int] | None = None) -> list[SectionNode]:
    """Build the tree from a flat list ordered by position, in one pass and no queries."""
    counts = counts or {}
    # Looked up by parent_id, which is None for a top-level section.
    nodes: dict[int | None, SectionNode] = {s.pk: SectionNode(s, comments=counts.get(s.pk, 0)) for s in sections}
    roots: list[SectionNode] = []
    for section in sorted(sections, key=lambda s: s.position):
        node = nodes[section.pk]
        parent = nodes.get(section.parent_id)
        (parent.children if parent else roots).append(node)
    return roots


def _participation_state(participation: Participation | None) -> dict:
    if participation is None:
        return {}
    return {
        "user": participation.user.email,
        "organisation": participation.organisation.name,
        "role": participation.role,
        "is_focal_point": participation.is_focal_point,
    }


def ensure_participation(
    *, consultation: Consultation, user, organisation: Organisation, role: str, is_focal_point: bool, actor=None
) -> Participation:
    """Add or change a participation (invitation acceptance, the admin, the demo seed); audited.

    The one way a participation is written, so the one place its organisation is checked: a person
    acts for one organisation (User.organisation, the source of truth), and the participation's
    organisation and role are that organisation and its kind. A person with no organisation yet
    gets this one.
    """
    if role != organisation.kind:
        raise ValidationError(
            {
                "role": _("The role must match the organisation: %(org)s is a %(kind)s.")
                % {"org": organisation.name, "kind": organisation.get_kind_display()}
            }
        )
    if user.organisation_id is not None and user.organisation_id != organisation.pk:
        raise ValidationError(
            {
                "organisation": _("%(email)s belongs to %(org)s; a person acts for one organisation.")
                % {"email": user.email, "org": user.organisation.name}
            }
        )
    try:
        with transaction.atomic():
            if user.organisation_id is None:
                user.organisation = organisation
                user.save(update_fields=["organisation"])
            current = Participation.objects.select_related("user", "organisation").filter(
                consultation=consultation, user=user
            )
            before = _participation_state(current.select_for_update(of=("self",)).first())
            participation, created = Participation.objects.update_or_create(
                consultation=consultation,
                user=user,
                defaults={"organisation": organisation, "role": role, "is_focal_point": is_focal_point},
            )
            after = _participation_state(participation)
            if created:
                audit_log(
                    actor=actor,
                    action="participation.created",
                    target=participation,
                    consultation=consultation,
                    data=after,
                )
            else:
                audit_changes(
                    actor=actor,
                    action="participation.changed",
                    target=participation,
                    consultation=consultation,
                    before=before,
                    after=after,
                    data={"user": user.email},
                )
    except IntegrityError as exc:  # pragma: no cover - raced with an identical insert
        raise ValidationError(_("This person already takes part in the consultation.")) from exc
    return participation


# --- invitations: the only way into the platform ----------------------------------------------

# The invitation e-mail's task (consultations.tasks), queued by name: services never import tasks.
SEND_INVITATION = "consultations.tasks.send_invitation"


def invitation_create(
    *,
    actor,
    consultation: Consultation,
    email: str,
    organisation: Organisation,
    role: str,
    is_focal_point: bool = False,
) -> Invitation:
    if not actor.has_perm("consultations.invite_participants", consultation):
        raise PermissionDenied(_("Only the secretariat or a site admin can invite participants."))
    email = User.objects.normalize_email(email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationError({"email": _("Enter a valid e-mail address.")})
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if role != organisation.kind:
        raise ValidationError(
            {
                "role": _("The role must match the organisation: %(org)s is a %(kind)s.")
                % {"org": organisation.name, "kind": organisation.get_kind_display()}
            }
        )
    if is_focal_point and role != Role.MEMBER_STATE:
        raise ValidationError({"is_focal_point": _("Only a member state delegate can be its focal point.")})
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(email__iexact=email).first()
        elsewhere = (
            existing.organisation if existing and existing.organisation_id not in (None, organisation.pk) else None
        )
        if elsewhere is not None:
            raise ValidationError(
                {
                    "email": _("%(email)s already belongs to %(org)s; a person acts for one organisation.")
                    % {"email": email, "org": elsewhere.name}
                }
            )
        pending_elsewhere = (
            Invitation.objects.filter(email__iexact=email, accepted_at__isnull=True, expires_at__gt=timezone.now())
            .exclude(organisation=organisation)
            .select_related("organisation")
            .first()
        )
        if pending_elsewhere:
            raise ValidationError(
                {
                    "email": _("%(email)s already has a pending invitation for %(org)s.")
                    % {"email": email, "org": pending_elsewhere.organisation.name}
                }
            )
        if existing and Participation.objects.filter(consultation=consultation, user=existing).exists():
            raise ValidationError({"email": _("%(email)s already takes part in this consultation.") % {"email": email}})
        invitation = Invitation.objects.create(
            email=email,
            consultation=consultation,
            organisation=organisation,
            role=role,
            is_focal_point=is_focal_point,
            invited_by=actor,
        )
        audit_log(
            actor=actor,
            action="invitation.created",
            target=invitation,
            consultation=consultation,
            data={"email": email, "organisation": organisation.pk, "role": role},
        )
        enqueue_after_commit(SEND_INVITATION, invitation.pk, job=invitation)
    return invitation


def invitation_resend(*, actor, invitation_ids: list[int]) -> list[int]:
    """Send the e-mail of these pending invitations once more; returns the ids queued."""
    invitations = list(
        Invitation.objects.filter(pk__in=invitation_ids, accepted_at__isnull=True).select_related("consultation")
    )
    pending = [invitation.pk for invitation in invitations]
    with transaction.atomic():
        Invitation.objects.filter(pk__in=pending).update(sent_at=None, send_attempts=0, send_lease_expires_at=None)
        for invitation in invitations:
            audit_log(
                actor=actor,
                action="invitation.resent",
                target=invitation,
                consultation=invitation.consultation,
                data={"email": invitation.email},
            )
            enqueue_after_commit(SEND_INVITATION, invitation.pk)
    return pending


def _invitation_claim(invitation_id: int) -> int | None:
    """Take the invitation's e-mail for this worker (conditional UPDATE); the attempt number, or None."""
    now = timezone.now()
    claimed = (
        Invitation.objects.filter(pk=invitation_id, sent_at__isnull=True, accepted_at__isnull=True)
        .filter(Q(send_lease_expires_at__isnull=True) | Q(send_lease_expires_at__lt=now))
        .update(send_attempts=F("send_attempts") + 1, send_lease_expires_at=jobs.lease_until(now))
    )
    if not claimed:
        return None
    return Invitation.objects.filter(pk=invitation_id).values_list("send_attempts", flat=True).get()


def invitation_send(*, invitation_id: int, send: Callable[[Invitation], None]) -> bool:
    """Send an invitation's e-mail at most once per request for it, claimed like any job (config.jobs).

    `send` delivers the message. A failure gives the claim back and raises (the task retries); a
    worker that dies mid-send lets its lease run out, and the sweep queues the e-mail again.
    """
    attempt = _invitation_claim(invitation_id)
    if attempt is None:
        return False  # sent already, accepted, or being sent by a live worker
    invitation = Invitation.objects.select_related("consultation", "organisation", "invited_by").get(pk=invitation_id)
    try:
        send(invitation)
    except BaseException:
        Invitation.objects.filter(pk=invitation_id, send_attempts=attempt).update(send_lease_expires_at=None)
        raise
    Invitation.objects.filter(pk=invitation_id, send_attempts=attempt).update(
        sent_at=timezone.now(), send_lease_expires_at=None
    )
    return True


def invitations_stranded():
    """Pending invitations whose e-mail should have gone out by now and is not being sent."""
    now = timezone.now()
    return Invitation.objects.filter(
        Q(send_lease_expires_at__isnull=True) | Q(send_lease_expires_at__lt=now),
        sent_at__isnull=True,
        accepted_at__isnull=True,
        expires_at__gt=now,
        created_at__lt=now - timedelta(seconds=settings.JOB_PUBLISH_GRACE_SECONDS),
        send_attempts__lt=settings.JOB_MAX_REQUEUES,
    )


def invitation_accept(
    *, token: str, user=None, password: str = "", full_name: str = "", language: str = ""
) -> tuple[Invitation, User]:
    """Accept an invitation: a newcomer sets a password; a known person must be logged in as themself.

    `language`: the one the page was read in; it becomes the person's e-mail language unless
    they already chose one (their profile changes it).
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("consultation", "organisation")
            .filter(token=token)
            .first()
        )
        if invitation is None or not invitation.is_usable():
            raise ValidationError(
                _("This invitation has expired or was already used. Ask the secretariat for a new one.")
            )
        existing = User.objects.filter(email__iexact=invitation.email).first()
        if existing is not None:
            if user is None or user.pk != existing.pk:
                raise PermissionDenied(
                    _("Log in as %(email)s to accept this invitation.") % {"email": invitation.email}
                )
            person = existing
        else:
            if user is not None and user.is_authenticated:
                raise PermissionDenied(
                    _("This invitation is for %(email)s. Log out first.") % {"email": invitation.email}
                )
            full_name = clean_name(full_name)[:200]
            candidate = User(email=invitation.email, full_name=full_name, organisation=invitation.organisation)
            validate_password(password, user=candidate)
            person = User.objects.create_user(
                email=invitation.email,
                password=password,
                full_name=full_name,
                organisation=invitation.organisation,
            )
            # The invitation link reached this inbox: the address is verified.
            EmailAddress.objects.create(user=person, email=person.email, primary=True, verified=True)
        if person.organisation_id is None:
            person.organisation = invitation.organisation
            person.save(update_fields=["organisation"])
        if not person.language and language in dict(settings.LANGUAGES):
            person.language = language
            person.save(update_fields=["language"])
        ensure_participation(
            consultation=invitation.consultation,
            user=person,
            organisation=invitation.organisation,
            role=invitation.role,
            is_focal_point=invitation.is_focal_point,
            actor=person,
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = person
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_log(actor=person, action="invitation.accepted", target=invitation, consultation=invitation.consultation)
    return invitation, person
