"""Reads for consultation pages and the API, each scoped to what the user may see."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from . import line_numbers
from .line_numbers import VersionLines
from .models import Consultation, DraftVersion, EngagementRound, Participation, RoundExtension, Section
from .rules import is_site_admin, participation_for
from .signals import round_stages


def consultations_for_user(*, user) -> QuerySet[Consultation]:
    """The consultations a user takes part in; site admins see every consultation."""
    qs = Consultation.objects.all()
    if not is_site_admin(user):
        qs = qs.filter(participations__user=user)
    return qs.annotate(
        open_round_count=Count("rounds", filter=Q(rounds__state=EngagementRound.State.OPEN), distinct=True),
        version_count=Count("versions", distinct=True),
    ).order_by("-created_at", "-id")


def get_consultation_for_user(*, user, slug: str) -> Consultation:
    """One consultation the user may see, or 404 (never a hint that it exists)."""
    consultation = Consultation.objects.filter(slug=slug).first()
    if consultation is None or not user.has_perm("consultations.view_consultation", consultation):
        raise Http404
    return consultation


def versions_visible_to(*, user, consultation: Consultation) -> QuerySet[DraftVersion]:
    """Published versions for everyone; drafts in preparation only for those who prepare them."""
    qs = consultation.versions.annotate(section_count=Count("sections"))
    if not user.has_perm("consultations.manage_versions", consultation):
        qs = qs.filter(status=DraftVersion.Status.PUBLISHED)
    return qs.order_by("major", "minor")


def get_version_for_user(*, user, consultation: Consultation, number: str) -> DraftVersion:
    version = versions_visible_to(user=user, consultation=consultation).filter(number=number).first()
    if version is None:
        raise Http404
    return version


def rounds_for_consultation(*, consultation: Consultation) -> QuerySet[EngagementRound]:
    return (
        consultation.rounds.select_related("version")
        .prefetch_related(Prefetch("extensions", queryset=RoundExtension.objects.select_related("organisation")))
        .order_by("opens_at", "id")
    )


def current_round_of_version(*, rounds, version: DraftVersion, now: datetime) -> EngagementRound | None:
    """The round a version's pages show: the one open on it now, else its latest (rounds in opening order)."""
    on_version = [r for r in rounds if r.version_id == version.pk]
    open_now = next((r for r in on_version if r.phase_at(now) == EngagementRound.State.OPEN), None)
    return open_now or (on_version[-1] if on_version else None)


def get_round_for_user(*, user, consultation: Consultation, pk: int) -> EngagementRound:
    engagement_round = rounds_for_consultation(consultation=consultation).filter(pk=pk).first()
    if engagement_round is None:
        raise Http404
    return engagement_round


def get_round_by_id_for_user(*, user, pk) -> EngagementRound:
    """A round of a consultation the user may see (any, for a site admin), else 404."""
    engagement_round = (
        EngagementRound.objects.select_related("consultation", "version")
        .prefetch_related(Prefetch("extensions", queryset=RoundExtension.objects.select_related("organisation")))
        .filter(pk=pk)
        .first()
    )
    if engagement_round is None or not user.has_perm("consultations.view_consultation", engagement_round.consultation):
        raise Http404
    return engagement_round


def sections_of_version(*, version: DraftVersion) -> list[Section]:
    return list(version.sections.all().order_by("position"))


def lines_of_version(*, version: DraftVersion, sections: list[Section] | None = None) -> VersionLines:
    """The version's line numbers (consultations.line_numbers); pass its sections if already loaded."""
    if sections is None:
        sections = sections_of_version(version=version)
    return line_numbers.version_lines(
        stored_length=version.line_length, sections=sections, stored_rules=version.line_rules
    )


def lines_of_section(*, version: DraftVersion, section: Section, sections: list[Section] | None = None):
    """One section's numbered lines: no query for a version numbered at publication (the section
    holds its first line), else the whole version's numbering (one query unless `sections` is given)."""
    if version.line_length and section.first_line is not None:
        return line_numbers.number_section(
            number=section.number,
            heading=section.heading,
            body=section.body,
            first_line=section.first_line,
            width=version.line_length,
            rules=version.line_rules or line_numbers.LEGACY_RULES,
        )
    return lines_of_version(version=version, sections=sections).sections[section.pk]


# What numbering reads of a section: the pages and exports that need only the numbers load no more.
LINE_FIELDS = ("id", "version_id", "position", "number", "heading", "body", "first_line")


def lines_of_versions(*, version_ids) -> dict[int, VersionLines]:
    """The line numbers of several versions at once, by version id: one query for all their sections.

    For exports: a comment's line is then lines[comment.section.version_id].line_range_for_comment(comment),
    with no query per row.
    """
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    stored = {
        pk: (length, rules)
        for pk, length, rules in DraftVersion.objects.filter(pk__in=ids).values_list("pk", "line_length", "line_rules")
    }
    by_version: dict[int, list[Section]] = {pk: [] for pk in stored}
    for section in Section.objects.filter(version_id__in=ids).only(*LINE_FIELDS).order_by("version_id", "position"):
        by_version[section.version_id].append(section)
    return {
        pk: line_numbers.version_lines(stored_length=stored[pk][0], sections=sections, stored_rules=stored[pk][1])
        for pk, sections in by_version.items()
    }


def participants_of(*, consultation: Consultation) -> QuerySet[Participation]:
    return consultation.participations.select_related("user", "organisation").order_by(
        "organisation__name", "user__email"
    )


def commenting_participations(*, engagement_round: EngagementRound) -> QuerySet[Participation]:
    """The participations whose role comments in the round (consultations.rules.may_comment_in_round, as a query)."""
    return Participation.objects.filter(
        consultation_id=engagement_round.consultation_id, role__in=engagement_round.commenting_roles or []
    )


def viewer_organisation_id(*, user, consultation: Consultation) -> int | None:
    participation = participation_for(user, consultation)
    return participation.organisation_id if participation else None


def participation(*, user, consultation: Consultation) -> Participation | None:
    return participation_for(user, consultation)


def viewer_role(*, user, consultation: Consultation) -> str | None:
    found = participation_for(user, consultation)
    return found.role if found else None


def get_consultation_for_audit(*, user, slug: str) -> Consultation:
    """The consultation, if the user may read its audit log; 404 otherwise (never a 403 hint)."""
    consultation = get_consultation_for_user(user=user, slug=slug)
    if not user.has_perm("consultations.view_audit", consultation):
        raise Http404
    return consultation


def round_phases(*, rounds, now: datetime) -> dict[int, tuple[str, str]]:
    """Each round's phase as a viewer should see it now, and its label: {round id: (phase, label)}.

    scheduled, open or closed from the round itself (phase_at); a closed round's later stage
    ("consolidating", "reported") from the apps that know it (signals.round_stages).
    """
    labels = dict(EngagementRound.State.choices)
    phases: dict[int, tuple[str, str]] = {}
    for engagement_round in rounds:
        phase = engagement_round.phase_at(now)
        phases[engagement_round.pk] = (phase, str(labels[phase]))
    closed = [r for r in rounds if phases[r.pk][0] == EngagementRound.State.CLOSED]
    if closed:
        for _receiver, stages in round_stages.send(sender=EngagementRound, rounds=closed):
            if isinstance(stages, dict):
                phases.update(stages)
    return phases
