"""Consolidation through the API: runs, consolidated feedback, dispositions, reports and imports.

The journey closes the world's round, consolidates it, reads the feedback, records a
disposition with If-Match (and a stale one), exports the XLSX matrix and opens it. Celery is
eager in the tests; on_commit callbacks run where django_capture_on_commit_callbacks says so.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import load_workbook

from comments import services as comment_services
from comments.models import Comment
from consolidation.models import ConsolidationRun, Disposition, DuplicateGroup, ImportJob, JobStatus, Report
from consolidation.services import aggregation
from consultations import services as round_services
from tests.helpers.api import assert_problem, token_client
from tests.helpers.reports import template_with

SAME_TEXT = "Name the year for rural areas too."


def _th_duplicate(world) -> Comment:
    """Thailand says what Viet Nam said: an exact duplicate group once consolidated."""
    clause = world.version.sections.get(key="infra-5g")
    return comment_services.comment_create(
        actor=world.personas["th_delegate"],
        engagement_round=world.open_round,
        section=clause,
        comment_type=Comment.Type.TECHNICAL,
        body=SAME_TEXT,
        proposed_change="extend 5G coverage to all urban and rural areas",
        submit=True,
    )


@pytest.fixture
def consolidated(world):
    """The world's round closed and consolidated, with one exact duplicate group."""
    th_dup = _th_duplicate(world)
    round_services.round_close_now(actor=world.personas["secretariat"], engagement_round=world.open_round)
    run = ConsolidationRun.objects.get(round=world.open_round)
    run = aggregation.consolidation_execute(run_id=run.pk)
    assert run.status == JobStatus.DONE
    return {"run": run, "group": DuplicateGroup.objects.get(run=run), "th_dup": th_dup}


def test_secretariat_journey_from_closing_to_the_exported_matrix(world, django_capture_on_commit_callbacks):
    th_dup = _th_duplicate(world)
    sec = token_client("secretariat@example.org")
    round_url = f"/api/v1/rounds/{world.open_round.pk}/"

    # Closing the round queues a consolidation of it by itself.
    with django_capture_on_commit_callbacks(execute=True):
        assert sec.post(round_url + "close-now/").status_code == 200
    assert ConsolidationRun.objects.get(round=world.open_round).status == JobStatus.DONE

    # Ask for another; a second request while it is queued is a 409 problem.
    with django_capture_on_commit_callbacks() as queued:
        created = sec.post(round_url + "consolidations/")
        assert created.status_code == 202, created.content
        run = created.json()
        assert run["status"] == "queued"
        assert created["Location"] == run["url"] == f"/api/v1/consolidations/{run['id']}/"
        conflict = assert_problem(sec.post(round_url + "consolidations/"), 409)
        assert conflict["type"] == "/api/problems/consolidation-active"
        assert "already under way" in conflict["detail"]
    assert ConsolidationRun.objects.filter(round=world.open_round).count() == 2
    for callback in queued:
        callback()  # the Celery task, eager

    done = sec.get(run["url"]).json()
    assert (done["status"], done["progress"], done["comment_count"]) == ("done", 100, 3)
    assert done["as_of"] is not None
    assert done["summary"]["totals"]["comments"] == 3
    assert done["summary"]["totals"]["exact_groups"] == 1
    assert done["summary"]["totals"]["campaigns"] == 0  # the duplicate stands on one section only
    [group] = done["duplicate_groups"]
    assert (group["kind"], group["section"], group["comments"]) == ("exact", "infra-5g", [world.vn_sub.pk, th_dup.pk])
    listed = sec.get(round_url + "consolidations/?ordering=-id").json()["results"]
    assert [r["id"] for r in listed][0] == run["id"]
    assert "summary" not in listed[0]

    # The consolidated feedback: the heat map and the filtered list.
    feedback = sec.get(round_url + "feedback/").json()
    heatmap = feedback["heatmap"]
    row = [s["key"] for s in heatmap["sections"]].index("infra-5g")
    column = {o["name"]: n for n, o in enumerate(heatmap["organisations"])}
    assert heatmap["counts"][row][column["Viet Nam"]] == 1
    assert heatmap["counts"][row][column["Thailand"]] == 2
    assert heatmap["total"] == 3
    assert feedback["summary"] == {"total": 3, "decided": 0, "proposed": 0}
    assert feedback["run"] == run["id"]
    assert {c["id"] for c in feedback["results"]} == {world.vn_sub.pk, world.th_sub.pk, th_dup.pk}
    thai = sec.get(round_url + f"feedback/?organisation={world.orgs['th'].pk}&type=te").json()["results"]
    assert [c["id"] for c in thai] == [th_dup.pk]
    assert thai[0]["duplicate_group"] == {"id": group["id"], "kind": "exact", "size": 2}
    assert thai[0]["disposition"]["state"] == "none"
    dups = sec.get(round_url + "feedback/?duplicates=true").json()["results"]
    assert {c["id"] for c in dups} == {world.vn_sub.pk, th_dup.pk}
    found = sec.get(round_url + "feedback/?q=support").json()["results"]
    assert [c["id"] for c in found] == [world.th_sub.pk]
    assert_problem(sec.get(round_url + "feedback/?section=no-such-key"), 400)

    # A disposition, with If-Match.
    url = f"/api/v1/comments/{world.vn_sub.pk}/disposition/"
    before = sec.get(url)
    assert before.status_code == 200
    assert before["ETag"] == f'"d{world.vn_sub.pk}-0"'
    assert before.json()["revision"] == 0
    decision = {"decision": "accepted_in_part", "response": "The year will be added."}
    assert_problem(sec.put(url, decision, format="json"), 428)
    recorded = sec.put(url, decision, format="json", HTTP_IF_MATCH=before["ETag"])
    assert recorded.status_code == 200, recorded.content
    assert recorded["ETag"] == f'"d{world.vn_sub.pk}-1"'
    assert recorded.json()["state"] == "accepted_in_part"
    assert recorded.json()["decided_by"]["id"] == world.personas["secretariat"].pk
    stale = sec.put(url, {"decision": "noted"}, format="json", HTTP_IF_MATCH=before["ETag"])
    assert assert_problem(stale, 412)["type"] == "/api/problems/stale"
    stored = Disposition.objects.get(comment=world.vn_sub)
    assert (stored.decision, stored.revision) == ("accepted_in_part", 1)
    decided = sec.get(round_url + "feedback/?disposition=accepted_in_part").json()
    assert [c["id"] for c in decided["results"]] == [world.vn_sub.pk]
    assert decided["summary"]["decided"] == 1

    # The XLSX matrix of the round, made by Celery; then downloaded and opened.
    with django_capture_on_commit_callbacks(execute=True):
        asked = sec.post(
            f"/api/v1/consultations/{world.consultation.slug}/reports/",
            {"kind": "resolution_matrix", "format": "xlsx", "round": world.open_round.pk},
            format="json",
        )
    assert asked.status_code == 202, asked.content
    report = sec.get(asked["Location"]).json()
    assert report["status"] == "done"
    assert report["size"] > 0
    assert report["download_url"] == f"/api/v1/reports/{report['id']}/download/"
    download = sec.get(report["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)))["Comments"]
    rows = list(sheet.iter_rows(values_only=True))
    rows = rows[next(i for i, row in enumerate(rows) if "No." in row) :]  # below the header block
    header = list(rows[0])
    by_number = {r[header.index("No.")]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    vn_row = by_number[world.vn_sub.number]
    assert vn_row["MB/NC"] == "VN"
    assert vn_row["Observations of the secretariat"] == "Accepted in part: The year will be added."
    assert len(by_number) == 3


def test_a_consultant_proposes_and_the_secretariat_approves(world, consolidated):
    url = f"/api/v1/comments/{world.th_sub.pk}/disposition/"
    consultant, sec = token_client("consultant@example.org"), token_client("secretariat@example.org")
    proposed = consultant.post(url + "proposal/", {"decision": "noted", "response": "Thanks."}, format="json")
    assert proposed.status_code == 200, proposed.content
    assert (proposed.json()["state"], proposed.json()["decision"]) == ("proposed", "")
    assert proposed["ETag"] == f'"d{world.th_sub.pk}-1"'
    # The consultants propose; only the secretariat decides.
    assert_problem(consultant.put(url, {"decision": "noted"}, format="json", HTTP_IF_MATCH=proposed["ETag"]), 403)
    assert_problem(sec.post(url + "approve/", HTTP_IF_MATCH=f'"d{world.th_sub.pk}-0"'), 412)
    approved = sec.post(url + "approve/", HTTP_IF_MATCH=proposed["ETag"])
    assert approved.status_code == 200, approved.content
    assert (approved.json()["decision"], approved.json()["response"]) == ("noted", "Thanks.")
    assert approved["ETag"] == f'"d{world.th_sub.pk}-2"'


def test_one_decision_for_a_duplicate_group(world, consolidated):
    sec = token_client("secretariat@example.org")
    group = consolidated["group"]
    response = sec.post(
        f"/api/v1/duplicate-groups/{group.pk}/disposition/",
        {"decision": "accepted", "response": "Both asked for the year."},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["group"] == group.pk
    assert {d["comment"] for d in body["dispositions"]} == {world.vn_sub.pk, consolidated["th_dup"].pk}
    assert set(Disposition.objects.values_list("decision", flat=True)) == {"accepted"}


def test_no_disposition_while_the_round_is_open(world):
    sec = token_client("secretariat@example.org")
    url = f"/api/v1/comments/{world.vn_sub.pk}/disposition/"
    refused = assert_problem(sec.put(url, {"decision": "noted"}, format="json", HTTP_IF_MATCH="*"), 400)
    assert "still open" in refused["errors"]["non_field_errors"][0]
    assert not Disposition.objects.exists()


def test_a_section_change_must_be_in_a_later_version(world, consolidated):
    sec = token_client("secretariat@example.org")
    url = f"/api/v1/comments/{world.vn_sub.pk}/disposition/"
    change = {"decision": "accepted", "section_change": {"version": "0.1", "key": "infra-5g"}}
    refused = assert_problem(sec.put(url, change, format="json", HTTP_IF_MATCH="*"), 400)
    assert "section_change" in refused["errors"]
    change["section_change"]["version"] = "0.2"
    recorded = sec.put(url, change, format="json", HTTP_IF_MATCH="*")
    assert recorded.status_code == 200, recorded.content
    assert recorded.json()["section_change"] == {"version": "0.2", "key": "infra-5g"}


# --- reports --------------------------------------------------------------------------------


def test_each_participant_lists_their_own_reports_and_the_secretariat_all(world):
    for persona in ("vn_delegate", "th_delegate"):
        Report.objects.create(
            consultation=world.consultation,
            kind="resolution_matrix",
            format="csv",
            requested_by=world.personas[persona],
        )
    url = f"/api/v1/consultations/{world.consultation.slug}/reports/"
    vn = token_client("vn.delegate@example.org").get(url).json()["results"]
    assert [r["requested_by"]["id"] for r in vn] == [world.personas["vn_delegate"].pk]
    assert len(token_client("secretariat@example.org").get(url).json()["results"]) == 2


def test_an_unfinished_report_has_nothing_to_download(world):
    report = Report.objects.create(
        consultation=world.consultation, kind="resolution_matrix", format="csv", requested_by=world.personas["partner"]
    )
    client = token_client("partner@example.org")
    assert client.get(f"/api/v1/reports/{report.pk}/").json()["download_url"] is None
    problem = assert_problem(client.get(f"/api/v1/reports/{report.pk}/download/"), 409)
    assert problem["type"] == "/api/problems/report-not-ready"


def test_a_report_request_the_service_refuses_is_a_400_on_the_field(world):
    client = token_client("vn.delegate@example.org")
    url = f"/api/v1/consultations/{world.consultation.slug}/reports/"
    wrong_format = client.post(url, {"kind": "resolution_matrix", "format": "pdf"}, format="json")
    assert "format" in assert_problem(wrong_format, 400)["errors"]
    no_round = client.post(url, {"kind": "consolidated_feedback", "format": "docx"}, format="json")
    assert "round" in assert_problem(no_round, 400)["errors"]
    assert not Report.objects.exists()


# --- imports --------------------------------------------------------------------------------


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_an_import_of_a_file_that_is_not_a_workbook_is_a_400_problem(world):
    sec = token_client("secretariat@example.org")
    response = sec.post(
        f"/api/v1/rounds/{world.open_round.pk}/imports/",
        {"organisation": world.orgs["vn"].pk, "file": _upload("vn.xlsx", b"%PDF-1.7 not a workbook")},
        format="multipart",
    )
    problem = assert_problem(response, 400)
    assert "not an XLSX workbook" in problem["errors"]["file"][0]
    assert not ImportJob.objects.exists()


@override_settings(IMPORT_MAX_BYTES=1024)
def test_an_oversized_import_is_a_400_problem(world):
    sec = token_client("secretariat@example.org")
    response = sec.post(
        f"/api/v1/rounds/{world.open_round.pk}/imports/",
        {"organisation": world.orgs["vn"].pk, "file": _upload("vn.xlsx", template_with([("1.1.1", "te", "One.")]))},
        format="multipart",
    )
    problem = assert_problem(response, 400)
    assert "MB" in problem["errors"]["file"][0]


def test_an_import_with_bad_rows_fails_with_the_errors_by_row_and_column(world, django_capture_on_commit_callbacks):
    sec = token_client("secretariat@example.org")
    workbook = template_with([("1.1.1", "te", "Fine."), ("9.9", "te", "No such clause.")])
    with django_capture_on_commit_callbacks(execute=True):
        response = sec.post(
            f"/api/v1/rounds/{world.open_round.pk}/imports/",
            {"organisation": world.orgs["vn"].pk, "file": _upload("vn.xlsx", workbook)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = sec.get(response["Location"]).json()
    assert (job["status"], job["created_count"]) == ("failed", 0)
    assert job["errors"] == [
        {"row": 9, "column": "Clause/Subclause", "message": "Row 9, column C: There is no clause 9.9 in version 0.1."}
    ]
    assert not Comment.objects.filter(imported_by__isnull=False).exists()


def test_a_good_import_creates_the_comments(world, django_capture_on_commit_callbacks):
    sec = token_client("secretariat@example.org")
    workbook = template_with([("1.1.1", "te", "One."), ("1.1.2", "ed", "Two.")])
    with django_capture_on_commit_callbacks(execute=True):
        response = sec.post(
            f"/api/v1/rounds/{world.open_round.pk}/imports/",
            {"organisation": world.orgs["th"].pk, "file": _upload("th.xlsx", workbook)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = sec.get(response["Location"]).json()
    assert (job["status"], job["created_count"], job["errors"]) == ("done", 2, [])
    assert job["organisation"]["id"] == world.orgs["th"].pk


def test_the_feedback_list_pages_by_cursor(world, consolidated):
    sec = token_client("secretariat@example.org")
    url = f"/api/v1/rounds/{world.open_round.pk}/feedback/?page_size=2&ordering=-id"
    first = sec.get(url).json()
    assert [c["id"] for c in first["results"]] == [consolidated["th_dup"].pk, world.th_sub.pk]
    second = sec.get(first["next"]).json()
    assert [c["id"] for c in second["results"]] == [world.vn_sub.pk]
    assert second["next"] is None
    assert second["heatmap"] == first["heatmap"]
