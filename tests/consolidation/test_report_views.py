"""The reports and exports page, downloads, and the secretariat's template import pages."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from comments.models import Comment
from consolidation.models import ImportJob, JobStatus, Report
from tests.helpers.reports import HEADER, HEADER_ROW, done_report, template_with

PERSONAS = ["secretariat", "consultant", "vn_delegate", "vn_focal_point", "th_delegate", "partner", "outsider", "admin"]


@pytest.fixture
def vn_report(consultation, personas):
    return done_report(consultation, personas["vn_delegate"])


@pytest.fixture
def import_job(consultation, open_round, orgs, personas):
    job = ImportJob(
        round=open_round,
        organisation=orgs["vn"],
        requested_by=personas["secretariat"],
        status=JobStatus.FAILED,
        file_name="vn.xlsx",
        errors=[{"row": 7, "column": "Clause", "message": "There is no clause 9.9 in version 0.1."}],
    )
    job.file.save("vn.xlsx", ContentFile(b"x"), save=False)
    job.save()
    return job


def _get(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


# --- permission tables ------------------------------------------------------------------------

# persona -> status, for each endpoint (anonymous users are sent to log in everywhere)
LIST = {p: 200 for p in PERSONAS} | {"outsider": 404}
OWN_REPORT = {  # vn_delegate's report: the requester, the secretariat and site admins
    "secretariat": 200,
    "consultant": 404,
    "vn_delegate": 200,
    "vn_focal_point": 404,
    "th_delegate": 404,
    "partner": 404,
    "outsider": 404,
    "admin": 200,
}
SECRETARIAT_ONLY = {p: 403 for p in PERSONAS} | {"secretariat": 200, "admin": 200, "outsider": 404}


@pytest.mark.parametrize("persona", PERSONAS)
def test_reports_page_permissions(client, consultation, personas, persona):
    response = _get(client, personas[persona], reverse("consolidation:reports", args=[consultation.slug]))
    assert response.status_code == LIST[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_empty_template_download_permissions(client, consultation, personas, persona):
    response = _get(client, personas[persona], reverse("consolidation:comment_template", args=[consultation.slug]))
    assert response.status_code == LIST[persona]
    if response.status_code == 200:
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["Comments"]
        assert [cell.value for cell in sheet[HEADER_ROW]] == HEADER


def test_the_empty_template_is_named_after_the_consultation(client, consultation, personas):
    response = _get(
        client, personas["vn_delegate"], reverse("consolidation:comment_template", args=[consultation.slug])
    )
    assert response["Content-Disposition"] == 'attachment; filename="adm-2030-comment-template.xlsx"'


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ["report_detail", "report_download"])
def test_a_report_is_seen_by_its_requester_the_secretariat_and_admins_only(
    client, consultation, personas, vn_report, persona, endpoint
):
    response = _get(
        client, personas[persona], reverse(f"consolidation:{endpoint}", args=[consultation.slug, vn_report.pk])
    )
    assert response.status_code == OWN_REPORT[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_report_request_permissions(client, django_capture_on_commit_callbacks, consultation, personas, persona):
    client.force_login(personas[persona])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("consolidation:report_create", args=[consultation.slug]), {"what": "resolution_matrix:csv"}
        )
    expected = 404 if persona == "outsider" else 302
    assert response.status_code == expected
    assert Report.objects.filter(requested_by=personas[persona]).count() == (0 if expected == 404 else 1)


@pytest.mark.parametrize("persona", PERSONAS)
def test_import_page_permissions(client, consultation, open_round, personas, persona):
    response = _get(
        client, personas[persona], reverse("consolidation:import_create", args=[consultation.slug, open_round.pk])
    )
    assert response.status_code == SECRETARIAT_ONLY[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_import_job_page_permissions(client, consultation, personas, import_job, persona):
    response = _get(
        client, personas[persona], reverse("consolidation:import_detail", args=[consultation.slug, import_job.pk])
    )
    assert response.status_code == SECRETARIAT_ONLY[persona]


@pytest.mark.parametrize(
    "name",
    ["reports", "comment_template", "report_detail", "report_download", "import_create", "import_detail"],
)
def test_anonymous_is_sent_to_log_in(client, consultation, open_round, vn_report, import_job, name):
    args = {
        "reports": [consultation.slug],
        "comment_template": [consultation.slug],
        "report_detail": [consultation.slug, vn_report.pk],
        "report_download": [consultation.slug, vn_report.pk],
        "import_create": [consultation.slug, open_round.pk],
        "import_detail": [consultation.slug, import_job.pk],
    }[name]
    response = client.get(reverse(f"consolidation:{name}", args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_a_report_of_another_consultation_is_404_even_for_its_requester(
    client, consultation, other_consultation, personas, vn_report
):
    client.force_login(personas["vn_delegate"])
    response = client.get(reverse("consolidation:report_download", args=[other_consultation.slug, vn_report.pk]))
    assert response.status_code == 404


# --- the page -------------------------------------------------------------------------------


def test_download_streams_the_stored_file(client, consultation, personas, vn_report):
    client.force_login(personas["vn_delegate"])
    response = client.get(reverse("consolidation:report_download", args=[consultation.slug, vn_report.pk]))

    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbfNo.,Organisation")
    # Named from the report (the stored name is the storage's business).
    assert response["Content-Disposition"] == (
        f'attachment; filename="adm-2030-comment-resolution-matrix-{vn_report.pk}.csv"'
    )


def test_an_unfinished_report_has_nothing_to_download(client, consultation, personas):
    report = Report.objects.create(
        consultation=consultation, kind="resolution_matrix", format="xlsx", requested_by=personas["vn_delegate"]
    )
    client.force_login(personas["vn_delegate"])
    response = client.get(reverse("consolidation:report_download", args=[consultation.slug, report.pk]))
    assert response.status_code == 404


def test_each_participant_lists_their_own_reports_and_the_secretariat_all(client, consultation, personas):
    mine = done_report(consultation, personas["vn_delegate"])
    theirs = done_report(consultation, personas["th_delegate"])
    url = reverse("consolidation:reports", args=[consultation.slug])

    client.force_login(personas["vn_delegate"])
    ids = [r.pk for r in client.get(url).context["reports"]]
    assert ids == [mine.pk]
    client.force_login(personas["secretariat"])
    ids = [r.pk for r in client.get(url).context["reports"]]
    assert ids == [theirs.pk, mine.pk]


def test_a_queued_report_polls_every_two_seconds_and_a_finished_one_offers_the_file(client, consultation, personas):
    queued = Report.objects.create(
        consultation=consultation,
        kind="resolution_matrix",
        format="xlsx",
        requested_by=personas["vn_delegate"],
        progress=40,
    )
    finished = done_report(consultation, personas["vn_delegate"])
    client.force_login(personas["vn_delegate"])

    page = client.get(reverse("consolidation:reports", args=[consultation.slug])).content.decode()
    poll = reverse("consolidation:report_detail", args=[consultation.slug, queued.pk])
    assert f'hx-get="{poll}" hx-trigger="every 2s"' in page
    assert '<progress max="100" value="40"' in page
    assert reverse("consolidation:report_download", args=[consultation.slug, finished.pk]) in page
    assert (
        'hx-get="{}"'.format(reverse("consolidation:report_detail", args=[consultation.slug, finished.pk])) not in page
    )

    row = client.get(poll, headers={"HX-Request": "true"})
    assert row.templates[0].name == "consolidation/reports/_report_row.html"
    Report.objects.filter(pk=queued.pk).update(status=JobStatus.DONE, progress=100)
    row = client.get(poll, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in row


def test_asking_for_a_report_makes_it_with_what_the_requester_sees(
    client, django_capture_on_commit_callbacks, consultation, open_round, version, personas
):
    from tests.factories import CommentFactory

    section = version.sections.get(key="infra-5g")
    for author in ("vn_delegate", "th_delegate"):
        CommentFactory(round=open_round, section=section, author=personas[author], status=Comment.Status.SUBMITTED)
    client.force_login(personas["vn_delegate"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("consolidation:report_create", args=[consultation.slug]),
            {"what": "resolution_matrix:xlsx", "engagement_round": open_round.pk},
        )

    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.kind, report.format, report.round, report.status) == (
        "resolution_matrix",
        "xlsx",
        open_round,
        "done",
    )
    download = client.get(reverse("consolidation:report_download", args=[consultation.slug, report.pk]))
    rows = list(
        load_workbook(io.BytesIO(b"".join(download.streaming_content)))["Comments"].iter_rows(
            min_row=HEADER_ROW, values_only=True
        )
    )
    assert [row[0] for row in rows[1:]] == ["VN"]


def test_a_combination_that_is_not_made_is_refused_on_the_form(client, consultation, personas):
    client.force_login(personas["vn_delegate"])
    response = client.post(
        reverse("consolidation:report_create", args=[consultation.slug]), {"what": "resolution_matrix:pdf"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["what"]
    assert not Report.objects.exists()


def test_consolidated_feedback_without_a_round_is_refused_on_the_form(client, consultation, personas):
    client.force_login(personas["vn_delegate"])
    response = client.post(
        reverse("consolidation:report_create", args=[consultation.slug]), {"what": "consolidated_feedback:docx"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["engagement_round"]


def test_reports_list_queries_do_not_grow_with_reports(client, consultation, personas):
    url = reverse("consolidation:reports", args=[consultation.slug])
    client.force_login(personas["secretariat"])

    def count_queries(total: int) -> int:
        while Report.objects.count() < total:
            done_report(consultation, personas["vn_delegate" if Report.objects.count() % 2 else "th_delegate"])
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert len(response.context["reports"]) == min(total, 25)
        return len(queries)

    assert count_queries(2) == count_queries(30)


def test_reports_list_query_count_is_fixed(client, consultation, personas, django_assert_num_queries):
    url = reverse("consolidation:reports", args=[consultation.slug])
    client.force_login(personas["vn_delegate"])
    for _n in range(3):
        done_report(consultation, personas["vn_delegate"])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _n in range(20):
        done_report(consultation, personas["vn_delegate"])

    with django_assert_num_queries(len(small)):
        response = client.get(url)
    assert len(response.context["reports"]) == 23


# --- imports --------------------------------------------------------------------------------


def test_secretariat_imports_a_template_and_sees_how_many_came_in(
    client, django_capture_on_commit_callbacks, consultation, open_round, orgs, personas
):
    client.force_login(personas["secretariat"])
    upload = SimpleUploadedFile("vn.xlsx", template_with([("1.1.1", "te", "One."), ("1.1.2", "ed", "Two.")]))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("consolidation:import_create", args=[consultation.slug, open_round.pk]),
            {"organisation": orgs["vn"].pk, "upload": upload},
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("consolidation:import_detail", args=[consultation.slug, job.pk])
    page = client.get(response.url).content.decode()
    assert "2 comments imported." in page
    assert Comment.objects.filter(organisation=orgs["vn"], imported_by=personas["secretariat"]).count() == 2


def test_the_import_page_shows_the_errors_by_row_and_column(client, consultation, personas, import_job):
    client.force_login(personas["secretariat"])
    page = client.get(reverse("consolidation:import_detail", args=[consultation.slug, import_job.pk])).content.decode()
    assert "Nothing was imported." in page
    assert "<td>7</td><td>Clause</td><td>There is no clause 9.9 in version 0.1.</td>" in page


def test_a_running_import_polls(client, consultation, personas, import_job):
    ImportJob.objects.filter(pk=import_job.pk).update(status=JobStatus.RUNNING, progress=30)
    client.force_login(personas["secretariat"])
    url = reverse("consolidation:import_detail", args=[consultation.slug, import_job.pk])
    page = client.get(url).content.decode()
    assert f'hx-get="{url}" hx-trigger="every 2s"' in page
    partial = client.get(url, headers={"HX-Request": "true"})
    assert partial.templates[0].name == "consolidation/reports/_import_status.html"


def test_a_file_that_is_not_a_workbook_is_refused_on_the_form(client, consultation, open_round, orgs, personas):
    client.force_login(personas["secretariat"])
    response = client.post(
        reverse("consolidation:import_create", args=[consultation.slug, open_round.pk]),
        {"organisation": orgs["vn"].pk, "upload": SimpleUploadedFile("report.xlsx", b"%PDF-1.7 not a workbook")},
    )
    assert response.status_code == 400
    assert "not an XLSX workbook" in str(response.context["form"].errors["upload"])
    assert not ImportJob.objects.exists()


def test_an_organisation_outside_the_consultation_is_not_offered(client, consultation, open_round, orgs, personas):
    from tests import factories

    stranger = factories.OrganisationFactory(name="Atlantis", country_code="AT")
    client.force_login(personas["secretariat"])
    response = client.post(
        reverse("consolidation:import_create", args=[consultation.slug, open_round.pk]),
        {"organisation": stranger.pk, "upload": SimpleUploadedFile("vn.xlsx", template_with([("1.1.1", "te", "x")]))},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["organisation"]


def test_a_round_of_another_consultation_is_404(client, consultation, other_consultation, personas):
    from tests import factories

    foreign = factories.EngagementRoundFactory(version=factories.DraftVersionFactory(consultation=other_consultation))
    client.force_login(personas["secretariat"])
    response = client.get(reverse("consolidation:import_create", args=[consultation.slug, foreign.pk]))
    assert response.status_code == 404
