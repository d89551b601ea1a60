"""Preparing versions, phases and invitations over the API: the pages' services, the pages' rules.

The journey: a consultant uploads a Markdown draft (multipart, headless session token), edits
a section, the secretariat publishes the version, and an edit afterwards is refused with
nothing changed. Then the refusals: files the importer cannot read, a published version,
an invitation for someone who acts for another organisation.
"""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from consultations.models import DraftVersion, Invitation, Phase, Section
from tests import factories
from tests.helpers.api import assert_problem, token_client

DRAFT_MD = b"""# Strategic outcomes

## 1.1 Digital infrastructure

### 1.1.1 5G networks

Member states will extend 5G coverage to all urban areas by 2028.

### 1.1.2 Data centres

Regional data centres will run on renewable energy.
"""

VERSIONS = "/api/v1/consultations/adm-2030/versions/"


def _upload(client, name: str, data: bytes, number: str = "0.5"):
    return client.post(
        VERSIONS,
        {
            "number": number,
            "title": "Draft 0.5",
            "change_summary": "New clauses.",
            "file": SimpleUploadedFile(name, data),
        },
        format="multipart",
    )


def _sections(version: DraftVersion) -> list[tuple]:
    return list(version.sections.order_by("position").values_list("key", "number", "heading", "body", "depth"))


def test_consultant_uploads_edits_and_secretariat_publishes(world):
    consultant = token_client("consultant@example.org")
    created = _upload(consultant, "draft-0.5.md", DRAFT_MD)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["number"], body["status"], body["section_count"]) == ("0.5", "draft", 4)
    assert created["Location"] == f"{VERSIONS}0.5/"
    version = DraftVersion.objects.get(consultation=world.consultation, number="0.5")
    assert version.source_name == "draft-0.5.md"
    assert version.created_by == world.personas["consultant"]

    listed = consultant.get(f"{VERSIONS}0.5/sections/").json()["results"]
    assert [(s["depth"], s["heading"]) for s in listed] == [
        (0, "Strategic outcomes"),
        (1, "Digital infrastructure"),
        (2, "5G networks"),
        (2, "Data centres"),
    ]
    clause = listed[2]
    assert clause["parent"] == listed[1]["key"]
    url = f"{VERSIONS}0.5/sections/{clause['key']}/"

    edited = consultant.patch(
        url, {"body": "Member states will extend 5G coverage to all areas by 2028."}, format="json"
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["body"] == "Member states will extend 5G coverage to all areas by 2028."
    assert edited.json()["heading"] == "5G networks"  # not sent: kept
    assert edited.json()["number"] == "1.1.1"

    # A delegate does not even see the draft.
    assert token_client("vn.delegate@example.org").get(f"{VERSIONS}0.5/").status_code == 404

    secretariat = token_client("secretariat@example.org")
    published = secretariat.post(f"{VERSIONS}0.5/publish/")
    assert published.status_code == 200, published.content
    assert published.json()["status"] == "published"
    assert published.json()["published_at"]

    before = _sections(version)
    refused = consultant.patch(url, {"body": "Too late."}, format="json")
    problem = assert_problem(refused, 400)
    assert "is published and can no longer change" in problem["errors"]["non_field_errors"][0]
    assert_problem(consultant.delete(url), 400)
    assert_problem(
        consultant.post(f"{VERSIONS}0.5/sections/", {"parent": clause["key"], "heading": "Late"}, format="json"), 400
    )
    assert_problem(secretariat.post(f"{VERSIONS}0.5/publish/"), 400)
    assert _sections(version) == before
    assert AuditEntry.objects.filter(action="version.published", target_id=str(version.pk)).count() == 1

    # The delegate now reads it.
    seen = token_client("vn.delegate@example.org").get(url)
    assert seen.status_code == 200
    assert seen.json()["body"] == "Member states will extend 5G coverage to all areas by 2028."


def test_section_tree_as_json_and_a_copy_keeps_the_keys(world, client_for):
    client = client_for(world.personas["secretariat"])
    created = client.post(
        VERSIONS,
        {
            "number": "0.5",
            "title": "Typed in",
            "sections": [
                {
                    "heading": "Strategic outcomes",
                    "number": "1",
                    "children": [
                        {
                            "heading": "Seamless and inclusive digital infrastructure",
                            "number": "1.1",
                            "children": [{"heading": "5G", "number": "1.1.1", "body": "By 2030."}],
                        }
                    ],
                }
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    version = DraftVersion.objects.get(consultation=world.consultation, number="0.5")
    sections = _sections(version)
    # The same heading as in the latest published version (0.3): the same key.
    assert [(s[0], s[4]) for s in sections][2] == ("infra-5g", 2)
    assert sections[2][3] == "By 2030."

    copied = client.post(f"{VERSIONS}0.5/copy/", {"number": "0.6", "change_summary": "Next."}, format="json")
    assert copied.status_code == 201, copied.content
    assert copied.json()["section_count"] == 3
    copy = DraftVersion.objects.get(consultation=world.consultation, number="0.6")
    assert [s[0] for s in _sections(copy)] == [s[0] for s in sections]

    added = client.post(
        f"{VERSIONS}0.6/sections/", {"parent": "infra-5g", "heading": "Rural areas", "number": "1.1.1.a"}, format="json"
    )
    assert added.status_code == 201, added.content
    assert (added.json()["parent"], added.json()["depth"], added.json()["position"]) == ("infra-5g", 2, 4)
    top = client.post(f"{VERSIONS}0.6/sections/", {"heading": "Annex"}, format="json")
    assert (top.json()["parent"], top.json()["depth"]) == (None, 0)

    deleted = client.delete(f"{VERSIONS}0.6/sections/{sections[1][0]}/")  # the chapter, with its clauses
    assert deleted.status_code == 204
    assert [s[2] for s in _sections(copy)] == ["Strategic outcomes", "Annex"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("draft.md", b"%PDF-1.7\n1 0 obj << >> endobj\n", "PDF files cannot be split into sections"),
        ("draft.docx", b"PK\x03\x04 this is not really a zip archive", "Word document"),
        ("draft.docx", b"just some text", "Word document"),
        ("draft.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old Word document"),
        ("draft.md", b"\xff\xfe\x00broken utf-8", "UTF-8"),
        ("draft.md", b"   \n", "The file is empty."),
        ("draft.md", b"Just text, no heading at all.", "has no headings"),
    ],
)
def test_a_file_the_importer_cannot_read_is_a_400_on_file(world, client_for, name, data, message):
    response = _upload(client_for(world.personas["consultant"]), name, data)
    problem = assert_problem(response, 400)
    assert problem["type"] == "/api/problems/validation"
    assert message in problem["errors"]["file"][0]
    assert not DraftVersion.objects.filter(consultation=world.consultation, number="0.5").exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(world, client_for, settings):
    settings.DRAFT_UPLOAD_MAX_BYTES = 64
    response = _upload(client_for(world.personas["consultant"]), "draft.md", DRAFT_MD)
    assert "a draft can be at most 64" in assert_problem(response, 400)["errors"]["file"][0]


def test_a_corrupt_docx_archive_is_a_400(world, client_for):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<not-xml")
    response = _upload(client_for(world.personas["consultant"]), "draft.docx", out.getvalue())
    assert "Word document" in assert_problem(response, 400)["errors"]["file"][0]


def test_version_refusals_name_their_field(world, client_for):
    client = client_for(world.personas["secretariat"])
    taken = client.post(VERSIONS, {"number": "0.4", "sections": [{"heading": "A"}]}, format="json")
    assert "already exists" in assert_problem(taken, 400)["errors"]["number"][0]
    earlier = client.post(VERSIONS, {"number": "0.0", "sections": [{"heading": "A"}]}, format="json")
    assert "after 0.3" in assert_problem(earlier, 400)["errors"]["number"][0]
    empty = client.post(VERSIONS, {"number": "0.5", "sections": []}, format="json")
    assert_problem(empty, 400)
    blank = client.post(VERSIONS, {"number": "0.5", "sections": [{"heading": " "}]}, format="json")
    assert "sections.0.heading" in assert_problem(blank, 400)["errors"]
    deep: dict = {"heading": "Level"}
    for _ in range(12):
        deep = {"heading": "Level", "children": [deep]}
    assert (
        "sections"
        in assert_problem(client.post(VERSIONS, {"number": "0.5", "sections": [deep]}, format="json"), 400)["errors"]
    )
    bad_parent = client.post(f"{VERSIONS}0.4/sections/", {"parent": "nope", "heading": "X"}, format="json")
    assert "parent" in assert_problem(bad_parent, 400)["errors"]
    no_sections = client.post(f"{VERSIONS}0.4/publish/")
    assert "without sections" in assert_problem(no_sections, 400)["errors"]["non_field_errors"][0]
    assert DraftVersion.objects.get(consultation=world.consultation, number="0.4").status == "draft"
    assert not DraftVersion.objects.filter(consultation=world.consultation, number="0.5").exists()
    assert not Section.objects.filter(heading="X").exists()


def test_a_json_body_the_endpoint_does_not_parse_is_415(world, client_for):
    response = client_for(world.personas["secretariat"]).post(
        VERSIONS, "number=0.5", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415)


def test_phase_create(world, client_for):
    client = client_for(world.personas["secretariat"])
    url = "/api/v1/consultations/adm-2030/phases/"
    created = client.post(
        url, {"name": "Validation", "starts_on": "2026-03-01", "ends_on": "2026-03-31"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Validation"
    backwards = client.post(url, {"name": "Oops", "starts_on": "2026-03-31", "ends_on": "2026-03-01"}, format="json")
    assert "before it starts" in assert_problem(backwards, 400)["errors"]["ends_on"][0]
    assert not Phase.objects.filter(name="Oops").exists()


def test_participants_list_shows_organisation_person_role_and_focal_point(world, client_for):
    response = client_for(world.personas["secretariat"]).get("/api/v1/consultations/adm-2030/participants/")
    assert response.status_code == 200
    rows = {row["email"]: row for row in response.json()["results"]}
    focal = rows["vn.focal@example.org"]
    assert (focal["organisation"], focal["organisation_name"], focal["role"], focal["is_focal_point"]) == (
        world.orgs["vn"].pk,
        "Viet Nam",
        "member_state",
        True,
    )
    assert "outsider@example.org" not in rows
    assert len(rows) == 6


def test_invitation_create_never_shows_the_token(world, client_for, django_capture_on_commit_callbacks):
    client = client_for(world.personas["secretariat"])
    url = "/api/v1/consultations/adm-2030/invitations/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = client.post(
            url,
            {
                "email": "New.Delegate@Example.org",
                "organisation": world.orgs["vn"].pk,
                "role": "member_state",
                "is_focal_point": True,
            },
            format="json",
        )
    assert created.status_code == 201, created.content
    body = created.json()
    invitation = Invitation.objects.get(pk=body["id"])
    assert (body["email"], body["organisation_name"], body["is_focal_point"]) == (
        "new.delegate@example.org",
        "Viet Nam",
        True,
    )
    assert "token" not in body and invitation.token not in created.content.decode()
    assert len(callbacks) == 1  # the e-mail, sent once the invitation is stored
    listed = client.get(url).json()["results"]
    assert [row["email"] for row in listed] == ["new.delegate@example.org"]
    assert invitation.token not in client.get(url).content.decode()


def test_invitation_for_someone_of_another_organisation_is_a_400_on_email(world, client_for):
    client = client_for(world.personas["secretariat"])
    url = "/api/v1/consultations/adm-2030/invitations/"
    factories.UserFactory(email="someone@example.org", organisation=world.orgs["th"])
    response = client.post(
        url,
        {"email": "someone@example.org", "organisation": world.orgs["vn"].pk, "role": "member_state"},
        format="json",
    )
    problem = assert_problem(response, 400)
    assert "already belongs to Thailand" in problem["errors"]["email"][0]
    wrong_role = client.post(
        url, {"email": "x@example.org", "organisation": world.orgs["vn"].pk, "role": "partner"}, format="json"
    )
    assert "role" in assert_problem(wrong_role, 400)["errors"]
    unknown = client.post(url, {"email": "x@example.org", "organisation": 999999, "role": "partner"}, format="json")
    assert "organisation" in assert_problem(unknown, 400)["errors"]
    assert not Invitation.objects.exists()
