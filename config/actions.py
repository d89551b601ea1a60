"""One skeleton for every page action: form -> service -> done (htmx partial or redirect) or refused.

    return perform(
        form=DispositionForm(request.POST),
        run=lambda data: services.disposition_propose(actor=request.user, comment=comment, **data),
        done=lambda result: row_or_redirect(...),
        refused=lambda refusal: row_with_error(refusal.status, refusal.message),
    )

The service decides; the page only shapes the answer. A form that does not validate is refused
with 400 and the form's messages (`refusal.error` is None: the errors are on the form); a
service's refusal carries its own status (config.errors) and the exception as `refusal.error`,
so that a form page can put a ValidationError's field errors on its fields (`show_on_form`).
The refusal's headers (Retry-After) are set on whatever `refused` answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse

from .errors import REFUSALS, Refusal, refusal

T = TypeVar("T")


def form_messages(form: forms.BaseForm) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def show_on_form(form: forms.BaseForm, answer: Refusal, aliases: Mapping[str, str] | None = None) -> None:
    """A service's refusal on the form: a ValidationError's field errors in place, the rest on top.

    `aliases` names the form field for a service's field name. Nothing to add when the form
    itself did not validate (its errors are there already).
    """
    error = answer.error
    if error is None:
        return
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            name = (aliases or {}).get(name, name)
            form.add_error(name if name in form.fields else None, errors)
    elif isinstance(error, ValidationError):
        form.add_error(None, error)
    else:
        form.add_error(None, answer.message)


def perform(
    *,
    run: Callable[[dict[str, Any]], T],
    done: Callable[[T], HttpResponse],
    refused: Callable[[Refusal], HttpResponse],
    form: forms.BaseForm | None = None,
) -> HttpResponse:
    """Validate `form` (if any), call `run` with its cleaned data, answer with `done` or `refused`."""
    if form is not None and not form.is_valid():
        return refused(Refusal(400, form_messages(form), "invalid"))
    try:
        result = run(form.cleaned_data if form is not None else {})
    except REFUSALS as exc:
        answer = refusal(exc)
        response = refused(answer)
        for name, value in answer.headers.items():
            response[name] = value
        return response
    return done(result)
