"""config.errors and config.actions: one refusal contract for pages and the API."""

from datetime import UTC, datetime

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse

from config.actions import perform, show_on_form
from config.errors import (
    ConflictError,
    DomainError,
    NotAllowedError,
    RateLimitedError,
    Refusal,
    RoundClosedError,
    StaleWriteError,
    refusal,
)


@pytest.mark.parametrize(
    ("exc", "status", "code", "problem_type"),
    [
        (ValidationError("Bad."), 400, "invalid", ""),
        (ValidationError("Still open.", code="round_open"), 400, "round_open", ""),
        (ValidationError({"decision": "Choose one."}), 400, "invalid", ""),
        (PermissionDenied("Only the secretariat."), 403, "permission_denied", ""),
        (Http404(), 404, "not_found", ""),
        (NotAllowedError("No."), 403, "permission_denied", "forbidden"),
        (ConflictError("Busy.", code="consolidation_active"), 409, "consolidation_active", "conflict"),
        (RoundClosedError(), 409, "round_closed", "round-closed"),
        (StaleWriteError(), 412, "stale", "stale"),
        (RateLimitedError(retry_after=42), 429, "rate_limited", "rate-limited"),
    ],
)
def test_every_refusal_has_one_status_code_and_problem_type(exc, status, code, problem_type):
    answer = refusal(exc)
    assert (answer.status, answer.code, answer.problem_type) == (status, code, problem_type)
    assert answer.message
    assert answer.error is exc


def test_messages_are_the_exceptions_messages_joined():
    assert refusal(ValidationError(["One.", "Two."])).message == "One. Two."
    assert refusal(ValidationError({"a": "One.", "b": "Two."})).message == "One. Two."
    assert refusal(PermissionDenied("Only the author.")).message == "Only the author."
    assert refusal(PermissionDenied()).message == "You may not do this."


def test_round_closed_names_when_and_retry_after_is_a_header():
    assert "not open yet" in refusal(RoundClosedError(not_yet_open=True)).message
    assert "closed for your organisation" in refusal(RoundClosedError(datetime(2030, 1, 1, tzinfo=UTC))).message
    assert refusal(RateLimitedError(retry_after=7.9)).headers == {"Retry-After": "7"}
    assert refusal(StaleWriteError()).headers == {}


def test_a_domain_error_is_a_validation_error_with_a_dict_too():
    exc = ConflictError({"decision": "Not now."})
    assert isinstance(exc, ValidationError) and exc.message_dict == {"decision": ["Not now."]}
    assert (refusal(exc).status, refusal(exc).code) == (409, "conflict")
    assert DomainError("Plain.").status == 400


def test_anything_else_is_not_a_refusal():
    with pytest.raises(TypeError):
        refusal(RuntimeError("boom"))


class NoteForm(forms.Form):
    note = forms.CharField(max_length=5)


def _answer(refused: Refusal) -> HttpResponse:
    return HttpResponse(refused.message, status=refused.status)


def test_perform_runs_the_service_with_the_cleaned_data_and_answers_done():
    seen = []
    response = perform(
        form=NoteForm({"note": "hi"}),
        run=lambda data: seen.append(data) or "result",
        done=lambda result: HttpResponse(result),
        refused=_answer,
    )
    assert (response.status_code, response.content, seen) == (200, b"result", [{"note": "hi"}])


def test_perform_refuses_a_form_that_does_not_validate_without_calling_the_service():
    answers = []

    def refused(answer):
        answers.append(answer)
        return _answer(answer)

    response = perform(form=NoteForm({"note": "far too long"}), run=pytest.fail, done=HttpResponse, refused=refused)
    assert response.status_code == 400
    assert answers[0].error is None and "at most 5 characters" in answers[0].message


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ValidationError("No."), 400),
        (PermissionDenied("No."), 403),
        (RoundClosedError(), 409),
        (StaleWriteError(), 412),
    ],
)
def test_perform_answers_a_services_refusal_with_its_status(exc, status):
    def run(_data):
        raise exc

    assert perform(run=run, done=HttpResponse, refused=_answer).status_code == status


def test_perform_sets_the_refusals_headers_and_lets_a_404_and_a_bug_through():
    def limited(_data):
        raise RateLimitedError(retry_after=30)

    response = perform(run=limited, done=HttpResponse, refused=_answer)
    assert (response.status_code, response["Retry-After"]) == (429, "30")
    for exc in (Http404(), RuntimeError("bug")):

        def run(_data, exc=exc):
            raise exc

        with pytest.raises(type(exc)):
            perform(run=run, done=HttpResponse, refused=_answer)


def test_show_on_form_puts_field_errors_in_place_and_the_rest_on_top():
    form = NoteForm({"note": "ok"})
    assert form.is_valid()
    show_on_form(form, refusal(ValidationError({"note": "Taken.", "other": "Elsewhere."})))
    assert form.errors == {"note": ["Taken."], "__all__": ["Elsewhere."]}
    form = NoteForm({"note": "ok"})
    form.is_valid()
    show_on_form(form, refusal(PermissionDenied("Only the secretariat.")))
    assert form.non_field_errors() == ["Only the secretariat."]
    form = NoteForm({"note": "ok"})
    form.is_valid()
    show_on_form(form, refusal(ValidationError({"kind": "Not made."})), {"kind": "note"})
    assert form.errors == {"note": ["Not made."]}
