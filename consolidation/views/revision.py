"""The revision report page: version N+1 against the version before it, section by section.

Any participant may read it (consolidation.read_revision_report); what it shows of the
comments is what comments_visible_to lets the reader see. Others get a 404.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from consultations import selectors as consultation_selectors

from .. import selectors_revision


@login_required
@require_GET
def revision_report(request, slug, number):
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    if not request.user.has_perm("consolidation.read_revision_report", consultation):
        raise Http404
    version = consultation_selectors.get_version_for_user(user=request.user, consultation=consultation, number=number)
    report = selectors_revision.revision_report(user=request.user, version=version)
    context = {
        "consultation": consultation,
        "version": version,
        "report": report,
        "noteworthy": [s for s in report.sections if s.is_noteworthy],
        "unchanged": [s for s in report.sections if not s.is_noteworthy],
    }
    return render(request, "consolidation/revision/report.html", context)


urlpatterns = [
    path("<slug:slug>/versions/<str:number>/revision/", revision_report, name="revision"),
]
