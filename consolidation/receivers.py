"""What consolidation does when something happens below it (consultations.signals, comments.signals)."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from comments.signals import section_page_panels
from consultations.signals import (
    round_closed,
    round_stages,
    section_comment_counts,
    version_page_panels,
    version_published,
)

from .models import Report
from .selectors_revision import carried_into_section
from .selectors_runs import ROUND_STAGES
from .selectors_runs import round_stages as stages_of_rounds
from .selectors_section_counts import visible_counts_by_section
from .services import draft_exports
from .services.aggregation import consolidation_request_for_closed_round
from .services.carry_over import queue_carry_over


def consolidate_closed_round(sender, *, round_id: int, **kwargs) -> None:
    """A closed round is consolidated at once (queued on commit; idempotent)."""
    consolidation_request_for_closed_round(round_id=round_id)


def carry_over_into_published_version(sender, *, version, **kwargs) -> None:
    """Open comments on earlier versions follow their passages into the published one (Celery)."""
    queue_carry_over(version)


def carried_comments_panel(sender, *, request, consultation, section, **kwargs) -> str:
    """On a section's page: the open comments of earlier versions that landed on it."""
    carried = carried_into_section(user=request.user, section=section)
    if not carried:
        return ""
    context = {"carried": carried, "consultation": consultation}
    return render_to_string("consolidation/revision/_carried.html", context, request=request)


def draft_export_panel(sender, *, request, consultation, version, **kwargs) -> str:
    """On a version's page: the buttons that make the draft as DOCX or PDF with its line numbers."""
    if not request.user.has_perm("consolidation.export", consultation):
        return ""
    buttons = [
        (
            f"{kind}:{fmt}",
            _("%(kind)s (%(format)s)") % {"kind": Report.Kind(kind).label, "format": Report.Format(fmt).label},
        )
        for kind, formats in draft_exports.DRAFT_FORMATS.items()
        for fmt in formats
    ]
    context = {"consultation": consultation, "version": version, "buttons": buttons}
    return render_to_string("consolidation/reports/_draft_buttons.html", context, request=request)


def stages_of_closed_rounds(sender, *, rounds, **kwargs) -> dict[int, tuple[str, str]]:
    """Consolidating / reported, from the runs, for the round pages of consultations."""
    return {round_id: (stage, str(ROUND_STAGES[stage])) for round_id, stage in stages_of_rounds(rounds=rounds).items()}


def comment_counts_of_sections(sender, *, user, engagement_round, **kwargs) -> dict[int, int]:
    return visible_counts_by_section(user=user, engagement_round=engagement_round)


def connect() -> None:
    round_closed.connect(consolidate_closed_round, dispatch_uid="consolidation.consolidate_closed_round")
    version_published.connect(carry_over_into_published_version, dispatch_uid="consolidation.carry_over")
    round_stages.connect(stages_of_closed_rounds, dispatch_uid="consolidation.stages_of_closed_rounds")
    section_page_panels.connect(carried_comments_panel, dispatch_uid="consolidation.carried_comments_panel")
    version_page_panels.connect(draft_export_panel, dispatch_uid="consolidation.draft_export_panel")
    section_comment_counts.connect(comment_counts_of_sections, dispatch_uid="consolidation.section_comment_counts")
