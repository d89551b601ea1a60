"""Secretariat and consultants: upload a draft version, edit its sections, publish it.

Each view fetches within the user's scope (404 outside it), checks manage_versions (403), and
hands the write to a service through config.actions.perform; a refusal is shown on the form and
nothing has changed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from config.actions import perform, show_on_form
from config.errors import Refusal

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


def _form_again(form, answer: Refusal, page: Callable[[], HttpResponse]) -> HttpResponse:
    """A refused form: the page again with the refusal on the form (200, as before)."""
    show_on_form(form, answer)
    return page()


def _messages_of(answer: Refusal) -> list[str]:
    """A refusal's messages one by one, for a confirmation page that lists them."""
    error = answer.error
    return list(error.messages) if isinstance(error, ValidationError) else [answer.message]


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
    if request.method != "POST":
        form = VersionUploadForm(initial={"number": _next_number(consultation)})
        return render(request, "consultations/versions/upload.html", {"consultation": consultation, "form": form})
    form = VersionUploadForm(request.POST, request.FILES)

    def page() -> HttpResponse:
        return render(request, "consultations/versions/upload.html", {"consultation": consultation, "form": form})

    def done(version) -> HttpResponse:
        messages.success(
            request,
            _("Version %(number)s was created as a draft. Check its sections, then publish it.")
            % {"number": version.number},
        )
        return redirect("consultations:version_edit", consultation.slug, version.number)

    return perform(
        form=form,
        run=lambda data: version_create_from_upload(
            actor=request.user,
            consultation=consultation,
            number=data["number"],
            upload=data["file"],
            change_summary=data["change_summary"],
            title=data["title"],
        ),
        done=done,
        refused=lambda answer: _form_again(form, answer, page),
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_copy(request, slug, number):
    consultation, source = _version_for_manager(request, slug, number)
    if request.method == "POST":
        form = VersionCopyForm(request.POST)
    else:
        form = VersionCopyForm(initial={"number": _next_number(consultation)})

    def page() -> HttpResponse:
        context = {"consultation": consultation, "version": source, "form": form}
        return render(request, "consultations/versions/copy.html", context)

    def done(version) -> HttpResponse:
        messages.success(
            request,
            _("Version %(number)s was started as a copy of version %(source)s.")
            % {"number": version.number, "source": source.number},
        )
        return redirect("consultations:version_edit", consultation.slug, version.number)

    if request.method != "POST":
        return page()
    return perform(
        form=form,
        run=lambda data: services.version_copy_for_editing(
            actor=request.user, source=source, number=data["number"], change_summary=data["change_summary"]
        ),
        done=done,
        refused=lambda answer: _form_again(form, answer, page),
    )


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

    def page(errors: list[str]) -> HttpResponse:
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

    def done(_published) -> HttpResponse:
        messages.success(request, _("Version %(number)s is published.") % {"number": version.number})
        return redirect("consultations:version", consultation.slug, version.number)

    if request.method != "POST":
        published = [_("Version %(number)s is already published.") % {"number": version.number}]
        return page(published if version.is_published else [])
    return perform(
        run=lambda _data: services.version_publish(actor=request.user, version=version),
        done=done,
        refused=lambda answer: page(_messages_of(answer)),
    )


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
    if request.method != "POST":
        form = SectionAddForm(sections=sections, initial={"parent": request.GET.get("parent", "")})
        return _section_page(request, consultation=consultation, version=version, form=form)
    form = SectionAddForm(request.POST, sections=sections)

    def done(section) -> HttpResponse:
        messages.success(request, _("Section “%(heading)s” was added.") % {"heading": section.heading})
        return redirect("consultations:version_edit", consultation.slug, version.number)

    return perform(
        form=form,
        run=lambda data: services.section_add(
            actor=request.user,
            version=version,
            parent=data["parent"],
            heading=data["heading"],
            number=data["number"],
            body=data["body"],
        ),
        done=done,
        refused=lambda answer: _form_again(
            form, answer, lambda: _section_page(request, consultation=consultation, version=version, form=form)
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def section_edit(request, slug, number, key):
    consultation, version = _version_for_manager(request, slug, number)
    section = _section_of(version, key)
    if request.method != "POST":
        form = SectionForm(initial={"number": section.number, "heading": section.heading, "body": section.body})
        return _section_page(request, consultation=consultation, version=version, form=form, section=section)
    form = SectionForm(request.POST)

    def done(_saved) -> HttpResponse:
        messages.success(request, _("Section “%(heading)s” was saved.") % {"heading": form.cleaned_data["heading"]})
        return redirect("consultations:version_edit", consultation.slug, version.number)

    return perform(
        form=form,
        run=lambda data: services.section_update(
            actor=request.user, section=section, heading=data["heading"], body=data["body"], number=data["number"]
        ),
        done=done,
        refused=lambda answer: _form_again(
            form,
            answer,
            lambda: _section_page(request, consultation=consultation, version=version, form=form, section=section),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def section_delete(request, slug, number, key):
    consultation, version = _version_for_manager(request, slug, number)
    section = _section_of(version, key)
    if request.method == "POST":

        def done(_deleted) -> HttpResponse:
            messages.success(request, _("Section “%(heading)s” was deleted.") % {"heading": section.heading})
            return redirect("consultations:version_edit", consultation.slug, version.number)

        return perform(
            run=lambda _data: services.section_delete(actor=request.user, section=section),
            done=done,
            refused=lambda answer: _delete_page(request, consultation, version, section, _messages_of(answer)),
        )
    errors = [_published_message(version)] if version.is_published else []
    return _delete_page(request, consultation, version, section, errors)


def _delete_page(request, consultation, version, section, errors: list[str]) -> HttpResponse:
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
