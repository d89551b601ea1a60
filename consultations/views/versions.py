"""Secretariat and consultants: upload a draft version, edit its sections, publish it.

Each view fetches within the user's scope (404 outside it), checks manage_versions (403), and
hands the write to a service; a ValidationError from the service is shown on the form and
nothing has changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from .. import selectors, services
from ..forms.versions import SectionAddForm, SectionForm, VersionCopyForm, VersionUploadForm
from ..models import DraftVersion
from ..uploads import version_create_from_upload


def _consultation_for_manager(request, slug):
    consultation = selectors.get_consultation_for_user(user=request.user, slug=slug)
    if not request.user.has_perm("consultations.manage_versions", consultation):
        raise PermissionDenied
    return consultation


def _version_for_manager(request, slug, number):
    consultation = _consultation_for_manager(request, slug)
    version = selectors.get_version_for_user(user=request.user, consultation=consultation, number=number)
    return consultation, version


def _section_of(version: DraftVersion, key: str):
    section = version.sections.filter(key=key).first()
    if section is None:
        raise Http404
    section.version = version  # the services read version.consultation; spare the queries
    return section


def _show_error(form, error: ValidationError) -> None:
    """Put a service's error on the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _published_message(version: DraftVersion) -> str:
    message = _("Version %(number)s is published and can no longer change. Start the next version to edit it.")
    return message % {"number": version.number}


def _next_number(consultation) -> str:
    latest = consultation.versions.order_by("-major", "-minor").values_list("major", "minor").first()
    if latest is None:
        return "0.1"
    return f"{latest[0]}.{latest[1] + 1}"


@login_required
@require_http_methods(["GET", "POST"])
def version_upload(request, slug):
    consultation = _consultation_for_manager(request, slug)
    if request.method == "POST":
        form = VersionUploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                version = version_create_from_upload(
                    actor=request.user,
                    consultation=consultation,
                    number=data["number"],
                    upload=data["file"],
                    change_summary=data["change_summary"],
                    title=data["title"],
                )
            except ValidationError as error:
                _show_error(form, error)
            else:
                messages.success(
                    request,
                    _("Version %(number)s was created as a draft. Check its sections, then publish it.")
                    % {"number": version.number},
                )
                return redirect("consultations:version_edit", consultation.slug, version.number)
    else:
        form = VersionUploadForm(initial={"number": _next_number(consultation)})
    return render(request, "consultations/versions/upload.html", {"consultation": consultation, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def version_copy(request, slug, number):
    consultation, source = _version_for_manager(request, slug, number)
    if request.method == "POST":
        form = VersionCopyForm(request.POST)
        if form.is_valid():
            try:
                version = services.version_copy_for_editing(
                    actor=request.user,
                    source=source,
                    number=form.cleaned_data["number"],
                    change_summary=form.cleaned_data["change_summary"],
                )
            except ValidationError as error:
                _show_error(form, error)
            else:
                messages.success(
                    request,
                    _("Version %(number)s was started as a copy of version %(source)s.")
                    % {"number": version.number, "source": source.number},
                )
                return redirect("consultations:version_edit", consultation.slug, version.number)
    else:
        form = VersionCopyForm(initial={"number": _next_number(consultation)})
    context = {"consultation": consultation, "version": source, "form": form}
    return render(request, "consultations/versions/copy.html", context)


@login_required
@require_http_methods(["GET"])
def version_edit(request, slug, number):
    consultation, version = _version_for_manager(request, slug, number)
    sections = selectors.sections_of_version(version=version)
    context = {
        "consultation": consultation,
        "version": version,
        "tree": services.section_tree(sections),
        "section_count": len(sections),
        "add_form": None if version.is_published else SectionAddForm(sections=sections),
    }
    return render(request, "consultations/versions/edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def version_publish(request, slug, number):
    consultation, version = _version_for_manager(request, slug, number)
    errors = []
    if version.is_published and request.method == "GET":
        errors = [_("Version %(number)s is already published.") % {"number": version.number}]
    if request.method == "POST":
        try:
            services.version_publish(actor=request.user, version=version)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, _("Version %(number)s is published.") % {"number": version.number})
            return redirect("consultations:version", consultation.slug, version.number)
    context = {
        "consultation": consultation,
        "version": version,
        "errors": errors,
        "title": _("Publish version %(number)s?") % {"number": version.number},
        "explanation": _(
            "Once published, the version can no longer change: its sections are fixed so that comments "
            "and rounds can refer to them. Later changes go into the next version."
        ),
        "confirm_label": _("Publish"),
        "danger": False,
        "blocked": version.is_published,
        "cancel_url": _edit_url(consultation, version),
    }
    return render(request, "consultations/versions/confirm.html", context)


def _edit_url(consultation, version) -> str:
    return reverse("consultations:version_edit", args=[consultation.slug, version.number])


def _section_page(request, *, consultation, version, form, section=None, status=200):
    context = {"consultation": consultation, "version": version, "form": form, "section": section}
    return render(request, "consultations/versions/section_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def section_add(request, slug, number):
    consultation, version = _version_for_manager(request, slug, number)
    sections = selectors.sections_of_version(version=version)
    if request.method == "POST":
        form = SectionAddForm(request.POST, sections=sections)
        if form.is_valid():
            data = form.cleaned_data
            try:
                section = services.section_add(
                    actor=request.user,
                    version=version,
                    parent=data["parent"],
                    heading=data["heading"],
                    number=data["number"],
                    body=data["body"],
                )
            except ValidationError as error:
                _show_error(form, error)
            else:
                messages.success(request, _("Section “%(heading)s” was added.") % {"heading": section.heading})
                return redirect("consultations:version_edit", consultation.slug, version.number)
    else:
        form = SectionAddForm(sections=sections, initial={"parent": request.GET.get("parent", "")})
    return _section_page(request, consultation=consultation, version=version, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def section_edit(request, slug, number, key):
    consultation, version = _version_for_manager(request, slug, number)
    section = _section_of(version, key)
    if request.method == "POST":
        form = SectionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.section_update(
                    actor=request.user,
                    section=section,
                    heading=data["heading"],
                    body=data["body"],
                    number=data["number"],
                )
            except ValidationError as error:
                _show_error(form, error)
            else:
                messages.success(request, _("Section “%(heading)s” was saved.") % {"heading": data["heading"]})
                return redirect("consultations:version_edit", consultation.slug, version.number)
    else:
        form = SectionForm(initial={"number": section.number, "heading": section.heading, "body": section.body})
    return _section_page(request, consultation=consultation, version=version, form=form, section=section)


@login_required
@require_http_methods(["GET", "POST"])
def section_delete(request, slug, number, key):
    consultation, version = _version_for_manager(request, slug, number)
    section = _section_of(version, key)
    errors = []
    if version.is_published and request.method == "GET":
        errors = [_published_message(version)]
    if request.method == "POST":
        try:
            services.section_delete(actor=request.user, section=section)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, _("Section “%(heading)s” was deleted.") % {"heading": section.heading})
            return redirect("consultations:version_edit", consultation.slug, version.number)
    label = f"{section.number} {section.heading}".strip()
    descendants = _descendant_count(selectors.sections_of_version(version=version), section)
    if descendants:
        explanation = ngettext(
            "Its %(count)s subsection is deleted with it.",
            "Its %(count)s subsections are deleted with it.",
            descendants,
        ) % {"count": descendants}
    else:
        explanation = _("Its text is deleted with it.")
    context = {
        "consultation": consultation,
        "version": version,
        "errors": errors,
        "title": _("Delete section “%(section)s”?") % {"section": label},
        "explanation": explanation,
        "confirm_label": _("Delete"),
        "danger": True,
        "blocked": version.is_published,
        "cancel_url": _edit_url(consultation, version),
    }
    return render(request, "consultations/versions/confirm.html", context)


def _descendant_count(sections, section) -> int:
    subtree = {section.pk}
    for candidate in sorted(sections, key=lambda s: s.position):
        if candidate.parent_id in subtree:
            subtree.add(candidate.pk)
    return len(subtree) - 1
