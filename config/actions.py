"""One skeleton for every page action: form -> service -> done (htmx partial or redirect) or refused.

    return perform(
        form=DispositionForm(request.POST),
        run=lambda data: services.disposition_propose(actor=request.user, comment=comment, **data),
        done=lambda result: row_or_redirect(...),
        refused=lambda refusal: row_with_error(refusal.status, refusal.message),
    )

The service decides; the page only shapes the answer. A form that does not validate is refused
with 400 and the form's messages; a service's refusal carries its own status (config.errors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.http import HttpResponse

from .errors import REFUSALS, Refusal, refusal

T = TypeVar("T")


def form_messages(form: forms.BaseForm) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


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
        answer = refused(refusal(exc))
        for name, value in refusal(exc).headers.items():
            answer[name] = value
        return answer
    return done(result)
