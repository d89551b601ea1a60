"""Reports and exports, and the secretariat's import of offline comment templates.

Thin views: a scoped fetch (404 outside the user's consultation, and for someone else's
report unless the user is the secretariat or a site admin), a form for the shape of the
input, then a service. Files are made by Celery; these pages only queue them, show their
progress (htmx polls a row every 2 seconds while it is queued or running) and hand out the
finished file from storage.
"""

from __future__ import annotations

import tempfile

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Organisation
from config import jobs
from config.actions import perform, show_on_form
from config.downloads import file_download
from config.errors import Refusal
from config.forms import choice_field, model_choice_field
from consultations import selectors as consultation_selectors
from consultations.models import Consultation, DraftVersion, EngagementRound

from .. import selectors_reports
from ..documents.matrix import MatrixInfo, write_template_xlsx
from ..models import JobStatus, Report
from ..naming import report_download_name, template_download_name
from ..services import exports, imports
from ..template_columns import COLUMNS

PAGE_SIZE = 25


# --- forms --------------------------------------------------------------------------------


def _what_choices() -> list[tuple[str, str]]:
    choices = []
    for kind, formats in exports.FORMATS_BY_KIND.items():
        for fmt in formats:
            label = _("%(kind)s (%(format)s)") % {"kind": Report.Kind(kind).label, "format": Report.Format(fmt).label}
            choices.append((f"{kind}:{fmt}", label))
    return choices


class ReportRequestForm(forms.Form):
    what = forms.ChoiceField(label=gettext_lazy("Report"))
    engagement_round: forms.ModelChoiceField[EngagementRound] = forms.ModelChoiceField(
        label=gettext_lazy("Engagement round"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("All rounds"),
        help_text=gettext_lazy("For the matrix, the consolidated feedback and the draft with comments."),
    )
    version: forms.ModelChoiceField[DraftVersion] = forms.ModelChoiceField(
        label=gettext_lazy("Version"),
        queryset=None,
        required=False,
        help_text=gettext_lazy(
            "For a revision report: the new version, compared with the one before it; for a draft: its version."
        ),
    )

    def __init__(self, *args, consultation: Consultation, user, **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "what").choices = _what_choices()
        model_choice_field(self, "engagement_round").queryset = selectors_reports.rounds_for_reports(
            consultation=consultation
        )
        model_choice_field(self, "version").queryset = selectors_reports.versions_for_reports(
            user=user, consultation=consultation
        )

    def service_arguments(self) -> dict:
        kind, fmt = self.cleaned_data["what"].split(":", 1)
        return {
            "kind": kind,
            "format": fmt,
            "engagement_round": self.cleaned_data["engagement_round"],
            "version": self.cleaned_data["version"],
        }


class ImportForm(forms.Form):
    organisation: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"), queryset=None
    )
    upload = forms.FileField(
        label=gettext_lazy("Filled template (XLSX)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )

    def __init__(self, *args, consultation: Consultation, **kwargs):
        super().__init__(*args, **kwargs)
        model_choice_field(self, "organisation").queryset = Organisation.objects.filter(
            participations__consultation=consultation
        ).distinct()
        limit = imports.max_bytes() / 1024 / 1024
        self.fields["upload"].help_text = _(
            "The comment template filled in Excel, at most %(max)s MB. Keep its column headers as they are."
        ) % {"max": f"{limit:.0f}"}


# The service's field names that the report form shows under another field.
FIELD_ALIASES = {"kind": "what", "format": "what"}


# --- helpers ------------------------------------------------------------------------------


def _consultation_for(request, slug: str, perm: str = "consolidation.export") -> Consultation:
    consultation = consultation_selectors.get_consultation_for_user(user=request.user, slug=slug)
    if not request.user.has_perm(perm, consultation):
        raise PermissionDenied
    return consultation


def _list_context(request, consultation: Consultation, form: ReportRequestForm) -> dict:
    reports = selectors_reports.reports_visible_to(user=request.user, consultation=consultation)
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    can_import = request.user.has_perm("consolidation.import_template", consultation)
    context = {
        "consultation": consultation,
        "form": form,
        "page": page,
        "reports": page.object_list,
        "sees_all": selectors_reports.sees_all_reports(user=request.user, consultation=consultation),
        "can_import": can_import,
        "columns": COLUMNS,
    }
    if can_import:
        context["import_rounds"] = list(selectors_reports.rounds_for_reports(consultation=consultation))
        context["imports"] = list(selectors_reports.imports_of(consultation=consultation)[:10])
    return context


# --- reports ------------------------------------------------------------------------------


@login_required
@require_GET
def report_list(request, slug):
    consultation = _consultation_for(request, slug)
    form = ReportRequestForm(consultation=consultation, user=request.user)
    return render(request, "consolidation/reports/list.html", _list_context(request, consultation, form))


@login_required
@require_POST
def report_create(request, slug):
    consultation = _consultation_for(request, slug)
    form = ReportRequestForm(request.POST, consultation=consultation, user=request.user)

    def done(report: Report) -> HttpResponse:
        messages.success(
            request,
            _("Your %(kind)s is being made. It will be listed here, ready to download, when it is done.")
            % {"kind": report.get_kind_display().lower()},
        )
        if report.waiting_for_queue:
            messages.warning(request, jobs.WAITING_FOR_QUEUE)
        return redirect("consolidation:reports", consultation.slug)

    def refused(answer: Refusal) -> HttpResponse:
        show_on_form(form, answer, FIELD_ALIASES)
        context = _list_context(request, consultation, form)
        return render(request, "consolidation/reports/list.html", context, status=answer.status)

    return perform(
        form=form,
        run=lambda _data: exports.report_request(
            actor=request.user, consultation=consultation, **form.service_arguments()
        ),
        done=done,
        refused=refused,
    )


@login_required
@require_GET
def report_detail(request, slug, pk):
    consultation = _consultation_for(request, slug)
    report = selectors_reports.get_report_for_user(user=request.user, consultation=consultation, pk=pk)
    context = {
        "consultation": consultation,
        "report": report,
        "sees_all": selectors_reports.sees_all_reports(user=request.user, consultation=consultation),
    }
    if request.htmx:
        return render(request, "consolidation/reports/_report_row.html", context)
    return render(request, "consolidation/reports/detail.html", context)


@login_required
@require_GET
def report_download(request, slug, pk):
    consultation = _consultation_for(request, slug)
    report = selectors_reports.get_report_for_user(user=request.user, consultation=consultation, pk=pk)
    name = report.file.name
    if report.status != JobStatus.DONE or not name:
        raise Http404
    try:
        fileobj = report.file.open("rb")
    except FileNotFoundError:
        raise Http404
    exports.report_download_record(actor=request.user, report=report)
    return file_download(fileobj, report_download_name(report))


@login_required
@require_GET
def template_download(request, slug):
    """The empty comment template, for delegations that comment offline."""
    consultation = _consultation_for(request, slug)
    # A fixed, small file; spooled to disk past 1 MB all the same.
    fileobj = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    write_template_xlsx(fileobj, MatrixInfo(consultation=consultation.title))
    fileobj.seek(0)
    return file_download(fileobj, template_download_name(consultation))


# --- imports ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_create(request, slug, round_id):
    consultation = _consultation_for(request, slug, "consolidation.import_template")
    engagement_round = consultation_selectors.get_round_for_user(
        user=request.user, consultation=consultation, pk=round_id
    )

    def page(form: ImportForm, status: int = 200) -> HttpResponse:
        context = {
            "consultation": consultation,
            "round": engagement_round,
            "form": form,
            "columns": [column for column in COLUMNS if column.required_on_import],
        }
        return render(request, "consolidation/reports/import_form.html", context, status=status)

    if request.method != "POST":
        return page(ImportForm(consultation=consultation))
    form = ImportForm(request.POST, request.FILES, consultation=consultation)

    def done(job) -> HttpResponse:
        if job.waiting_for_queue:
            messages.warning(request, jobs.WAITING_FOR_QUEUE)
        return redirect("consolidation:import_detail", consultation.slug, job.pk)

    def refused(answer: Refusal) -> HttpResponse:
        show_on_form(form, answer, FIELD_ALIASES)
        return page(form, answer.status)

    return perform(
        form=form,
        run=lambda data: imports.import_request(
            actor=request.user,
            engagement_round=engagement_round,
            organisation=data["organisation"],
            upload=data["upload"],
        ),
        done=done,
        refused=refused,
    )


@login_required
@require_GET
def import_detail(request, slug, pk):
    consultation = _consultation_for(request, slug, "consolidation.import_template")
    job = selectors_reports.get_import_for_user(user=request.user, consultation=consultation, pk=pk)
    context = {"consultation": consultation, "job": job}
    if request.htmx:
        return render(request, "consolidation/reports/_import_status.html", context)
    return render(request, "consolidation/reports/import_detail.html", context)


urlpatterns = [
    path("<slug:slug>/reports/", report_list, name="reports"),
    path("<slug:slug>/reports/new/", report_create, name="report_create"),
    path("<slug:slug>/reports/template.xlsx", template_download, name="comment_template"),
    path("<slug:slug>/reports/<int:pk>/", report_detail, name="report_detail"),
    path("<slug:slug>/reports/<int:pk>/download/", report_download, name="report_download"),
    path("<slug:slug>/rounds/<int:round_id>/import/", import_create, name="import_create"),
    path("<slug:slug>/imports/<int:pk>/", import_detail, name="import_detail"),
]
