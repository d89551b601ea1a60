"""The job lifecycle (config.jobs) on consolidation runs and reports: claims, leases and the sweep.

Tasks run eagerly here; the same paths against a real broker, real workers killed whole and a
broker stopped and started again are in tests/integration/test_job_faults.py.
"""

from datetime import timedelta

from django.utils import timezone

from comments.models import Comment
from config import jobs
from consolidation.models import ConsolidationRun, ImportJob, JobStatus, Report
from consolidation.services import aggregation, exports, imports
from consolidation.tasks import import_template, sweep_jobs
from consultations.models import EngagementRound
from tests import factories
from tests.helpers.reports import filled, good_row


def _ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def test_a_run_whose_broker_message_was_lost_is_run_by_the_sweep(closed_round, secretariat):
    run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)  # not published
    ConsolidationRun.objects.filter(pk=run.pk).update(requested_at=_ago(minutes=5))

    result = sweep_jobs.apply().get()

    assert result["consolidations"] == {"requeued": [run.pk], "failed": []}
    run.refresh_from_db()
    assert run.status == JobStatus.DONE
    assert (run.attempts, run.requeues) == (1, 0)  # the broker's fault is not held against the job


def test_a_run_just_asked_for_is_left_to_its_own_message(closed_round, secretariat):
    run = aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round)

    assert sweep_jobs.apply().get()["consolidations"] == {"requeued": [], "failed": []}
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED


def test_a_run_whose_worker_is_gone_is_run_again_and_one_still_renewed_is_not(closed_round, version, secretariat):
    gone = ConsolidationRun.objects.create(
        round=closed_round,
        status=JobStatus.RUNNING,
        attempts=1,
        queued_at=_ago(minutes=10),
        lease_expires_at=_ago(seconds=1),
    )
    other_round = factories.EngagementRoundFactory(
        version=version, state=EngagementRound.State.CLOSED, opens_at=_ago(days=9), closes_at=_ago(hours=2)
    )
    alive = ConsolidationRun.objects.create(
        round=other_round,
        status=JobStatus.RUNNING,
        attempts=1,
        queued_at=_ago(minutes=10),
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    result = sweep_jobs.apply().get()

    assert result["consolidations"]["requeued"] == [gone.pk]
    gone.refresh_from_db()
    alive.refresh_from_db()
    assert (gone.status, gone.attempts, gone.requeues) == (JobStatus.DONE, 2, 1)
    assert (alive.status, alive.attempts) == (JobStatus.RUNNING, 1)


def test_a_redelivered_message_does_nothing_while_a_live_worker_holds_the_run(closed_round):
    run = ConsolidationRun.objects.create(
        round=closed_round, status=JobStatus.RUNNING, attempts=1, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )

    again = aggregation.consolidation_execute(run_id=run.pk)

    assert (again.status, again.attempts) == (JobStatus.RUNNING, 1)


def test_a_worker_that_lost_its_lease_can_no_longer_write(closed_round):
    run = ConsolidationRun.objects.create(round=closed_round)
    first = jobs.claim(ConsolidationRun, run.pk)
    ConsolidationRun.objects.filter(pk=run.pk).update(lease_expires_at=_ago(seconds=1))  # it stopped renewing
    second = jobs.claim(ConsolidationRun, run.pk)

    assert (first, second) == (1, 2)
    assert not jobs.renew(ConsolidationRun, run.pk, first, progress=50)
    assert jobs.renew(ConsolidationRun, run.pk, second, progress=60)
    assert jobs.claim(ConsolidationRun, run.pk) is None  # and nobody takes it from the live one


def test_a_run_requeued_too_often_is_failed_and_frees_its_round(closed_round, secretariat, settings):
    settings.JOB_MAX_REQUEUES = 2
    run = ConsolidationRun.objects.create(
        round=closed_round,
        status=JobStatus.RUNNING,
        attempts=3,
        requeues=2,
        queued_at=_ago(hours=1),
        lease_expires_at=_ago(minutes=1),
    )

    result = sweep_jobs.apply().get()

    assert result["consolidations"] == {"requeued": [], "failed": [run.pk]}
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "never finished" in run.error
    closed_round.refresh_from_db()
    assert closed_round.state == EngagementRound.State.CLOSED
    assert aggregation.consolidation_request(actor=secretariat, engagement_round=closed_round).status == "queued"


def test_a_published_run_waiting_behind_a_long_queue_is_published_again_less_and_less_often(
    closed_round, settings, monkeypatch
):
    settings.JOB_QUEUED_GRACE_SECONDS = 600
    published = []
    monkeypatch.setattr(jobs, "publish", lambda task, *args: published.append(args) or True)
    run = ConsolidationRun.objects.create(round=closed_round, queued_at=_ago(minutes=11))

    sweep_jobs.apply()
    assert published == [(run.pk,)]
    ConsolidationRun.objects.filter(pk=run.pk).update(queued_at=_ago(minutes=15))  # second wait: 20 minutes
    sweep_jobs.apply()
    assert published == [(run.pk,)]
    ConsolidationRun.objects.filter(pk=run.pk).update(queued_at=_ago(minutes=21))
    sweep_jobs.apply()
    assert published == [(run.pk,), (run.pk,)]
    run.refresh_from_db()
    assert (run.status, run.requeues) == (JobStatus.QUEUED, 2)


def test_a_report_whose_worker_is_gone_is_made_again_once(consultation, secretariat):
    report = Report.objects.create(
        consultation=consultation,
        kind=Report.Kind.RESOLUTION_MATRIX,
        format=Report.Format.CSV,
        requested_by=secretariat,
        status=JobStatus.RUNNING,
        attempts=1,
        queued_at=_ago(minutes=5),
        lease_expires_at=_ago(seconds=1),
    )

    assert sweep_jobs.apply().get()["reports"]["requeued"] == [report.pk]
    report.refresh_from_db()
    assert (report.status, report.attempts, report.requeues) == (JobStatus.DONE, 2, 1)
    assert report.file
    assert exports.report_generate(report_id=report.pk) is None  # a late redelivery makes nothing
    report.refresh_from_db()
    assert report.attempts == 2


def test_an_import_whose_message_was_lost_is_imported_once_by_the_sweep(open_round, orgs, secretariat, vn_delegate):
    job = imports.import_request(
        actor=secretariat, engagement_round=open_round, organisation=orgs["vn"], upload=filled([good_row()])
    )  # its commit callback never runs here: the broker never got it
    ImportJob.objects.filter(pk=job.pk).update(requested_at=_ago(minutes=5))

    assert sweep_jobs.apply().get()["imports"]["requeued"] == [job.pk]
    assert import_template.apply(args=[job.pk]).get() == JobStatus.DONE  # a late redelivery imports nothing

    job.refresh_from_db()
    assert (job.status, job.attempts, job.created_count) == (JobStatus.DONE, 1, 1)
    assert Comment.objects.filter(round=open_round).count() == 1


def test_an_import_and_a_carry_over_requeued_too_often_are_failed_on_the_record(
    open_round, orgs, secretariat, vn_delegate, settings
):
    from audit.models import AuditEntry
    from consolidation.models import CarryOverJob

    settings.JOB_MAX_REQUEUES = 1
    job = imports.import_request(
        actor=secretariat, engagement_round=open_round, organisation=orgs["vn"], upload=filled([good_row()])
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=2, requeues=1, queued_at=_ago(hours=1), lease_expires_at=_ago(minutes=1)
    )
    next_version = factories.DraftVersionFactory(consultation=open_round.consultation, number="9.9")
    carry = CarryOverJob.objects.create(
        version=next_version,
        status=JobStatus.RUNNING,
        attempts=2,
        requeues=1,
        queued_at=_ago(hours=1),
        lease_expires_at=_ago(minutes=1),
    )

    result = sweep_jobs.apply().get()

    assert result["imports"]["failed"] == [job.pk]
    assert result["carry_overs"]["failed"] == [carry.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "never finished" in job.errors[0]["message"]
    assert Comment.objects.filter(round=open_round).count() == 0
    actions = set(AuditEntry.objects.filter(consultation=open_round.consultation).values_list("action", flat=True))
    assert {"import.failed", "carry_over.failed"} <= actions
