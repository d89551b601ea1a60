"""The permission matrix: every endpoint x every persona x own/other object, every cell asserted.

Read a row as: this request, on this object, answers each persona with this status. The
round is open, with secretariat_only visibility (see tests/api/conftest.py for the world).
Objects: vn_sub / vn_draft are Viet Nam's ("own" for vn and vnfp), th_sub is Thailand's.
Consolidation objects are made on demand (OBJECTS): closed_* are the same comments once the
round has closed, proposed_vn_sub has a consultant's proposal, run / group are a run and a
duplicate group of the round, other_run and other_import belong to another consultation,
vn_report / th_report are reports asked for by vn_delegate / th_delegate.
Preparing versions and organising: `published` is version 0.1, `draft` a draft 0.5 with
sections, `draft_version` the empty draft 0.4; `other` is another consultation (the outsider
takes part in it as a member state delegate) and `other_draft` a draft with sections there.
To add an endpoint, add a REQUESTS entry and a row.
"""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from consolidation.documents.matrix import write_template_xlsx
from consolidation.models import ConsolidationRun, Disposition, DuplicateGroup, ImportJob, JobStatus
from consolidation.services import dispositions
from consultations import services as round_services
from consultations.models import Consultation, DraftVersion
from tests import factories
from tests.helpers.api import etag
from tests.helpers.reports import done_report

PERSONAS = ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider", "admin"]


def disposition_etag(world, comment) -> str:
    disposition = Disposition.objects.filter(comment=comment).first()
    return f'"d{comment.pk}-{disposition.revision if disposition else 0}"'


def _template(world, obj) -> dict:
    out = io.BytesIO()
    write_template_xlsx(out)
    return {"organisation": world.orgs["vn"].pk, "file": SimpleUploadedFile("vn.xlsx", out.getvalue())}


def _slug(world, obj) -> str:
    """The consultation a request is about: the object's, else the world's."""
    if isinstance(obj, Consultation):
        return obj.slug
    if isinstance(obj, DraftVersion):
        return obj.consultation.slug
    return world.consultation.slug


def _version_url(world, obj, rest: str = "") -> str:
    return f"/api/v1/consultations/{_slug(world, obj)}/versions/{obj.number}/{rest}"


def _new_number(world, obj) -> str:
    return "1.1" if _slug(world, obj) == "other-strategy" else "0.9"


def _upload(world, obj) -> dict:
    return {
        "number": _new_number(world, obj),
        "file": SimpleUploadedFile("draft.md", b"# Outcomes\n\n## Infrastructure\n\nNetworks for all.\n"),
    }


# name: (method, url(world, obj), body(world, obj) or None, sends If-Match: True (the comment's
# ETag) or etag(world, obj))
REQUESTS = {
    "consultations": ("get", lambda w, o: "/api/v1/consultations/", None, False),
    "consultation": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/", None, False),
    "phases": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/phases/", None, False),
    "rounds": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/rounds/", None, False),
    "round": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/", None, False),
    "versions": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/", None, False),
    "version": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/{o.number}/", None, False),
    "sections": (
        "get",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/0.1/sections/",
        None,
        False,
    ),
    "section": (
        "get",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/versions/0.1/sections/infra-5g/",
        None,
        False,
    ),
    "comments": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/comments/", None, False),
    "comment": ("get", lambda w, o: f"/api/v1/comments/{o.pk}/", None, False),
    "replies": ("get", lambda w, o: f"/api/v1/comments/{o.pk}/replies/", None, False),
    "annotations": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/annotations/", None, False),
    "position": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/national-position/", None, False),
    "schedule round": (
        "post",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/rounds/",
        lambda w, o: {
            "version": "0.3",
            "title": "Third engagement",
            "opens_at": (timezone.now() + timedelta(days=30)).isoformat(),
            "closes_at": (timezone.now() + timedelta(days=40)).isoformat(),
            "commenting_roles": ["member_state"],
            "visibility": "live",
        },
        False,
    ),
    "reschedule": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/reschedule/",
        lambda w, o: {
            "opens_at": w.open_round.opens_at.isoformat(),
            "closes_at": (w.open_round.closes_at + timedelta(days=1)).isoformat(),
        },
        False,
    ),
    "open now": ("post", lambda w, o: f"/api/v1/rounds/{w.scheduled_round.pk}/open-now/", None, False),
    "close now": ("post", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/close-now/", None, False),
    "extend": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/extend/",
        lambda w, o: {
            "organisation": w.orgs["th"].pk,
            "closes_at": (w.open_round.closes_at + timedelta(days=3)).isoformat(),
            "reason": "Holiday",
        },
        False,
    ),
    "create comment": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/comments/",
        lambda w, o: {"section": "infra-5g", "type": "ge", "body": "Please add a baseline."},
        False,
    ),
    "edit": ("patch", lambda w, o: f"/api/v1/comments/{o.pk}/", lambda w, o: {"body": "Edited."}, True),
    "submit": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/submit/", None, True),
    "withdraw": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/withdraw/", None, True),
    "endorse": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/endorsement/", None, True),
    "unendorse": ("delete", lambda w, o: f"/api/v1/comments/{o.pk}/endorsement/", None, True),
    "hide": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/hide/", lambda w, o: {"reason": "Off topic."}, False),
    "unhide": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/unhide/", None, False),
    "flag": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/flags/", lambda w, o: {"reason": "Rude."}, False),
    "reply": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/replies/", lambda w, o: {"body": "Noted."}, False),
    "submit position": (
        "post",
        lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/national-position/",
        lambda w, o: {"note": "Our position."},
        False,
    ),
    "consolidations": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/consolidations/", None, False),
    "consolidate": ("post", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/consolidations/", None, False),
    "consolidation": ("get", lambda w, o: f"/api/v1/consolidations/{o.pk}/", None, False),
    "feedback": ("get", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/feedback/", None, False),
    "disposition": ("get", lambda w, o: f"/api/v1/comments/{o.pk}/disposition/", None, False),
    "record": (
        "put",
        lambda w, o: f"/api/v1/comments/{o.pk}/disposition/",
        lambda w, o: {"decision": "accepted", "response": "Done."},
        disposition_etag,
    ),
    "propose": (
        "post",
        lambda w, o: f"/api/v1/comments/{o.pk}/disposition/proposal/",
        lambda w, o: {"decision": "noted"},
        False,
    ),
    "approve": ("post", lambda w, o: f"/api/v1/comments/{o.pk}/disposition/approve/", None, disposition_etag),
    "record group": (
        "post",
        lambda w, o: f"/api/v1/duplicate-groups/{o.pk}/disposition/",
        lambda w, o: {"decision": "accepted"},
        False,
    ),
    "reports": ("get", lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/reports/", None, False),
    "request report": (
        "post",
        lambda w, o: f"/api/v1/consultations/{w.consultation.slug}/reports/",
        lambda w, o: {"kind": "resolution_matrix", "format": "csv", "round": w.open_round.pk},
        False,
    ),
    "report": ("get", lambda w, o: f"/api/v1/reports/{o.pk}/", None, False),
    "download": ("get", lambda w, o: f"/api/v1/reports/{o.pk}/download/", None, False),
    "import": ("post", lambda w, o: f"/api/v1/rounds/{w.open_round.pk}/imports/", _template, False),
    "import job": ("get", lambda w, o: f"/api/v1/imports/{o.pk}/", None, False),
    "create version": (
        "post",
        lambda w, o: f"/api/v1/consultations/{_slug(w, o)}/versions/",
        lambda w, o: {
            "number": _new_number(w, o),
            "sections": [{"heading": "Outcomes", "children": [{"heading": "Networks", "body": "For all."}]}],
        },
        False,
    ),
    "upload version": ("post", lambda w, o: f"/api/v1/consultations/{_slug(w, o)}/versions/", _upload, False),
    "copy version": (
        "post",
        lambda w, o: _version_url(w, o, "copy/"),
        lambda w, o: {"number": _new_number(w, o)},
        False,
    ),
    "publish version": ("post", lambda w, o: _version_url(w, o, "publish/"), None, False),
    "add section": (
        "post",
        lambda w, o: _version_url(w, o, "sections/"),
        lambda w, o: {"parent": "infra-5g", "heading": "Rural areas", "body": "Also rural areas."},
        False,
    ),
    "edit section": (
        "patch",
        lambda w, o: _version_url(w, o, "sections/infra-5g/"),
        lambda w, o: {"body": "Member states will extend 6G."},
        False,
    ),
    "delete section": ("delete", lambda w, o: _version_url(w, o, "sections/infra-5g/"), None, False),
    "create phase": (
        "post",
        lambda w, o: f"/api/v1/consultations/{_slug(w, o)}/phases/",
        lambda w, o: {"name": "Validation workshop", "starts_on": "2026-03-01", "ends_on": "2026-03-31"},
        False,
    ),
    "participants": ("get", lambda w, o: f"/api/v1/consultations/{_slug(w, o)}/participants/", None, False),
    "invitations": ("get", lambda w, o: f"/api/v1/consultations/{_slug(w, o)}/invitations/", None, False),
    "invite": (
        "post",
        lambda w, o: f"/api/v1/consultations/{_slug(w, o)}/invitations/",
        lambda w, o: {"email": "new.delegate@example.org", "organisation": w.orgs["vn"].pk, "role": "member_state"},
        False,
    ),
}

# request          object          secretariat consultant vn  vnfp  th  partner outsider admin
MATRIX = """
consultations      -               200  200  200  200  200  200  200  200
consultation       -               200  200  200  200  200  200  404  200
phases             -               200  200  200  200  200  200  404  200
rounds             -               200  200  200  200  200  200  404  200
round              -               200  200  200  200  200  200  404  200
versions           -               200  200  200  200  200  200  404  200
version            published       200  200  200  200  200  200  404  200
version            draft_version   200  200  404  404  404  404  404  200
sections           -               200  200  200  200  200  200  404  200
section            -               200  200  200  200  200  200  404  200
comments           -               200  200  200  200  200  200  404  200
annotations        -               200  200  200  200  200  200  404  200
comment            vn_sub          200  200  200  200  404  404  404  200
comment            vn_draft        404  404  200  200  404  404  404  404
comment            th_sub          200  200  404  404  200  404  404  200
replies            vn_sub          200  200  200  200  404  404  404  200
replies            th_sub          200  200  404  404  200  404  404  200
position           -               403  403  403  200  403  403  404  403
schedule round     -               201  403  403  403  403  403  404  201
reschedule         -               200  403  403  403  403  403  404  200
open now           -               200  403  403  403  403  403  404  200
close now          -               200  403  403  403  403  403  404  200
extend             -               200  403  403  403  403  403  404  200
create comment     -               403  403  201  201  201  201  404  403
edit               vn_sub          403  403  200  403  404  404  404  403
edit               vn_draft        404  404  200  403  404  404  404  404
edit               th_sub          403  403  404  404  200  404  404  403
submit             vn_draft        404  404  200  403  404  404  404  404
withdraw           vn_sub          403  403  200  403  404  404  404  403
withdraw           th_sub          403  403  404  404  200  404  404  403
endorse            vn_sub          403  403  403  200  404  404  404  403
endorse            th_sub          403  403  404  404  403  404  404  403
unendorse          vn_sub          403  403  403  200  404  404  404  403
hide               vn_sub          200  403  403  403  404  404  404  200
hide               th_sub          200  403  404  404  403  404  404  200
unhide             vn_sub          200  403  403  403  404  404  404  200
flag               vn_sub          201  201  201  201  404  404  404  403
flag               th_sub          201  201  404  404  201  404  404  403
reply              vn_sub          201  201  201  201  404  404  404  403
reply              th_sub          201  201  404  404  201  404  404  403
submit position    -               403  403  403  200  403  403  404  403
consolidations     -               200  200  403  403  403  403  404  200
consolidate        -               202  403  403  403  403  403  404  202
consolidation      run             200  200  403  403  403  403  404  200
consolidation      other_run       404  404  404  404  404  404  403  200
feedback           -               200  200  403  403  403  403  404  200
disposition        closed_vn_sub   200  200  403  403  404  404  404  200
disposition        closed_th_sub   200  200  404  404  403  404  404  200
disposition        vn_draft        404  404  403  403  404  404  404  404
record             closed_vn_sub   200  403  403  403  404  404  404  200
record             closed_th_sub   200  403  404  404  403  404  404  200
propose            closed_vn_sub   200  200  403  403  404  404  404  200
propose            closed_th_sub   200  200  404  404  403  404  404  200
approve            proposed_vn_sub 200  403  403  403  404  404  404  200
record group       group           200  403  403  403  403  403  404  200
reports            -               200  200  200  200  200  200  404  200
request report     -               202  202  202  202  202  202  404  202
report             vn_report       200  404  200  404  404  404  404  200
report             th_report       200  404  404  404  200  404  404  200
download           vn_report       200  404  200  404  404  404  404  200
download           th_report       200  404  404  404  200  404  404  200
import             -               202  403  403  403  403  403  404  202
import job         import_job      200  403  403  403  403  403  404  200
import job         other_import    404  404  404  404  404  404  403  200
create version     -               201  201  403  403  403  403  404  201
create version     other           404  404  404  404  404  404  403  201
upload version     -               201  201  403  403  403  403  404  201
upload version     other           404  404  404  404  404  404  403  201
copy version       published       201  201  403  403  403  403  404  201
copy version       draft           201  201  404  404  404  404  404  201
copy version       other_draft     404  404  404  404  404  404  404  201
publish version    draft           200  200  404  404  404  404  404  200
publish version    published       400  400  403  403  403  403  404  400
publish version    draft_version   400  400  404  404  404  404  404  400
publish version    other_draft     404  404  404  404  404  404  404  200
add section        draft           201  201  404  404  404  404  404  201
add section        published       400  400  403  403  403  403  404  400
add section        other_draft     404  404  404  404  404  404  404  201
edit section       draft           200  200  404  404  404  404  404  200
edit section       published       400  400  403  403  403  403  404  400
edit section       other_draft     404  404  404  404  404  404  404  200
delete section     draft           204  204  404  404  404  404  404  204
delete section     published       400  400  403  403  403  403  404  400
delete section     other_draft     404  404  404  404  404  404  404  204
create phase       -               201  403  403  403  403  403  404  201
create phase       other           404  404  404  404  404  404  403  201
participants       -               200  403  403  403  403  403  404  200
participants       other           404  404  404  404  404  404  403  200
invitations        -               200  403  403  403  403  403  404  200
invitations        other           404  404  404  404  404  404  403  200
invite             -               201  403  403  403  403  403  404  201
invite             other           404  404  404  404  404  404  403  201
"""


def _cells():
    for line in MATRIX.strip().splitlines():
        words = line.split()
        statuses = [int(s) for s in words[-len(PERSONAS) :]]
        obj = words[-len(PERSONAS) - 1]
        name = " ".join(words[: -len(PERSONAS) - 1])
        assert name in REQUESTS, f"unknown request {name!r} in the matrix"
        for persona, expected in zip(PERSONAS, statuses, strict=True):
            yield pytest.param(name, obj, persona, expected, id=f"{name}-{obj}-{persona}".replace(" ", "_"))


def _closed(world):
    round_services.round_close_now(actor=world.personas["secretariat"], engagement_round=world.open_round)
    world.open_round.refresh_from_db()


def _closed_comment(name: str):
    def make(world):
        _closed(world)
        return getattr(world, name)

    return make


def _proposed(world):
    _closed(world)
    dispositions.disposition_propose(
        actor=world.personas["consultant"], comment=world.vn_sub, decision="noted", response="Noted."
    )
    return world.vn_sub


def _run(world, engagement_round=None):
    return ConsolidationRun.objects.create(round=engagement_round or world.open_round, status=JobStatus.DONE)


def _group(world):
    _closed(world)
    group = DuplicateGroup.objects.create(
        run=_run(world), section=world.vn_sub.section, kind="exact", size=2, similarity=100.0
    )
    group.comments.set([world.vn_sub, world.th_sub])
    return group


def _other_round(world):
    other = Consultation.objects.get(slug="other-strategy")
    return factories.EngagementRoundFactory(version=factories.DraftVersionFactory(consultation=other, number="1.0"))


def _import_job(world, engagement_round=None):
    job = ImportJob(
        round=engagement_round or world.open_round,
        organisation=world.orgs["vn"],
        requested_by=world.personas["secretariat"],
        file_name="vn.xlsx",
    )
    job.file.save("vn.xlsx", io.BytesIO(b"x"), save=False)
    job.save()
    return job


def _draft(consultation, number: str) -> DraftVersion:
    """A draft in preparation with a clause to edit, under a chapter."""
    draft = factories.DraftVersionFactory(
        consultation=consultation, number=number, status=DraftVersion.Status.DRAFT, published_at=None
    )
    factories.build_sections(
        draft,
        [
            ("infra", "1", "Infrastructure", "", None),
            ("infra-5g", "1.1", "5G and 6G networks", "Member states will extend 5G.", "infra"),
        ],
    )
    return draft


OBJECTS = {
    "draft": lambda w: _draft(w.consultation, "0.5"),
    "other": lambda w: Consultation.objects.get(slug="other-strategy"),
    "other_draft": lambda w: _draft(Consultation.objects.get(slug="other-strategy"), "1.0"),
    "closed_vn_sub": _closed_comment("vn_sub"),
    "closed_th_sub": _closed_comment("th_sub"),
    "proposed_vn_sub": _proposed,
    "run": _run,
    "other_run": lambda w: _run(w, _other_round(w)),
    "group": _group,
    "vn_report": lambda w: done_report(w.consultation, w.personas["vn_delegate"]),
    "th_report": lambda w: done_report(w.consultation, w.personas["th_delegate"]),
    "import_job": _import_job,
    "other_import": lambda w: _import_job(w, _other_round(w)),
}


def _object(world, obj: str):
    if obj == "-":
        return None
    if obj == "published":
        return world.version
    if obj in OBJECTS:
        return OBJECTS[obj](world)
    return getattr(world, obj)


@pytest.mark.parametrize(("name", "obj", "persona", "expected"), list(_cells()))
def test_permission_matrix(world, client_for, name, obj, persona, expected):
    method, url, body, if_match = REQUESTS[name]
    target = _object(world, obj)
    client = client_for(world.personas[persona])
    headers = {}
    if if_match:
        headers["HTTP_IF_MATCH"] = if_match(world, target) if callable(if_match) else etag(target)
    payload = body(world, target) if body else None
    uploads = payload and any(hasattr(value, "read") for value in payload.values())
    response = getattr(client, method)(
        url(world, target), payload, format="multipart" if uploads else "json", **headers
    )
    assert response.status_code == expected, response.content[:500]
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"


def test_matrix_covers_every_request():
    """A request added to REQUESTS without a row in the matrix is a gap in the table."""
    named = {" ".join(line.split()[: -len(PERSONAS) - 1]) for line in MATRIX.strip().splitlines()}
    assert named == set(REQUESTS)


@pytest.mark.parametrize("url", ["/api/v1/consultations/", "/api/v1/comments/1/"])
def test_anonymous_caller_gets_401_with_a_challenge(db, client_for, url):
    response = client_for(None).get(url)
    assert response.status_code == 401
    assert "X-Session-Token" in response["WWW-Authenticate"]
    assert response["Content-Type"] == "application/problem+json"
