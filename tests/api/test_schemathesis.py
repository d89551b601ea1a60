"""Property-based API tests against the live OpenAPI schema (schemathesis, in-process WSGI).

For every operation, a bounded number of generated requests (deterministic, positive data)
as a delegate and as the secretariat, authenticated with a headless session token. Path
parameters point at the objects of the test world, so that operations also answer 2xx.
Asserted: no 5xx, and status, content type, headers and body conform to the schema.

The suite runs a small, deterministic sample. For a deeper run (negative data too):
    SCHEMATHESIS_EXAMPLES=60 SCHEMATHESIS_MODES=positive,negative \
        .venv/bin/python -m pytest tests/api/test_schemathesis.py -q
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from consolidation.models import ConsolidationRun, DuplicateGroup, ImportJob, JobStatus, Report
from consolidation.services import aggregation
from consultations.models import DraftVersion
from tests import factories
from tests.factories import PASSWORD
from tests.helpers.reports import done_report

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _keep_db_connection():
    """Calling the WSGI app directly sends request_finished, which would close the test's
    connection (and its transaction); Django's test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# The live schema, fetched from the WSGI app at collection (no database needed for it).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
MODES = os.environ.get("SCHEMATHESIS_MODES", "positive").split(",")
schema.config.generation.update(modes=MODES, max_examples=EXAMPLES, deterministic=EXAMPLES <= 10, database="none")


def _session_token(email: str) -> str:
    response = APIClient().post("/_allauth/app/v1/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


@pytest.fixture
def delegate_token(world) -> str:
    return _session_token("vn.delegate@example.org")


@pytest.fixture
def secretariat_token(world) -> str:
    return _session_token("secretariat@example.org")


def _aim(case, world) -> None:
    """Point path parameters at real objects (random ids would only ever reach the 404s)."""
    params = case.path_parameters or {}
    path = case.operation.path
    if "slug" in params:
        params["slug"] = world.consultation.slug
    if "number" in params:
        params["number"] = world.version.number
    if "key" in params:
        params["key"] = "infra-5g"
    if "round_id" in params or path.startswith("/api/v1/rounds/{id}"):
        params["round_id" if "round_id" in params else "id"] = world.open_round.pk
    if "comment_id" in params or path.startswith("/api/v1/comments/{id}"):
        params["comment_id" if "comment_id" in params else "id"] = world.vn_sub.pk
    # Consolidation objects, made on first use (the world has none).
    if path.startswith("/api/v1/consolidations/{id}"):
        params["id"] = _run(world).pk
    if path.startswith("/api/v1/duplicate-groups/{id}"):
        params["id"] = _group(world).pk
    if path.startswith("/api/v1/reports/{id}"):
        report = Report.objects.filter(status=JobStatus.DONE).first()
        params["id"] = (report or done_report(world.consultation, world.personas["vn_delegate"])).pk
    if path.startswith("/api/v1/imports/{id}"):
        params["id"] = _import_job(world).pk
    # Writes to a version (publish, sections) aim at a draft with sections, so that they can
    # succeed too; a published one would only ever answer 400.
    if "number" in params and case.method.upper() != "GET" and not path.endswith("/copy/"):
        params["number"] = _draft(world).number


def _draft(world) -> DraftVersion:
    """A draft in preparation (0.5) with the clause infra-5g under a chapter."""
    draft = DraftVersion.objects.filter(consultation=world.consultation, number="0.5").first()
    if draft is None:
        draft = factories.DraftVersionFactory(
            consultation=world.consultation, number="0.5", status=DraftVersion.Status.DRAFT, published_at=None
        )
        factories.build_sections(
            draft,
            [
                ("infra", "1", "Infrastructure", "", None),
                ("infra-5g", "1.1", "5G", "Member states will extend 5G.", "infra"),
            ],
        )
    return draft


def _run(world) -> ConsolidationRun:
    """A finished consolidation of the world's round."""
    run = ConsolidationRun.objects.filter(round=world.open_round).first()
    if run is None:
        run = aggregation.consolidation_execute(run_id=ConsolidationRun.objects.create(round=world.open_round).pk)
    return run


def _group(world) -> DuplicateGroup:
    group = DuplicateGroup.objects.first()
    if group is None:
        group = DuplicateGroup.objects.create(
            run=_run(world), section=world.vn_sub.section, kind="near", size=2, similarity=90.0
        )
        group.comments.set([world.vn_sub, world.th_sub])
    return group


def _import_job(world) -> ImportJob:
    job = ImportJob.objects.first()
    if job is None:
        job = ImportJob.objects.create(
            round=world.open_round,
            organisation=world.orgs["vn"],
            requested_by=world.personas["secretariat"],
            file_name="vn.xlsx",
            file="imports/vn.xlsx",
            status=JobStatus.FAILED,
            errors=[{"row": 3, "column": "Clause", "message": "There is no clause 9.9 in version 0.1."}],
        )
    return job


SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 10, suppress_health_check=list(HealthCheck)
)


@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_schema_as_delegate(case, world, delegate_token, _keep_db_connection):
    _aim(case, world)
    case.call_and_validate(headers={"X-Session-Token": delegate_token}, checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_schema_as_secretariat(case, world, secretariat_token, _keep_db_connection):
    _aim(case, world)
    case.call_and_validate(headers={"X-Session-Token": secretariat_token}, checks=CHECKS)
