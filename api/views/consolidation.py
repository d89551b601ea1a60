"""Consolidation runs, consolidated feedback, dispositions, report jobs and template imports.

What the consolidation pages do, over JSON. Every fetch is scoped first (a round, comment,
run, report or import outside the caller's consultations is a 404), then the pages' own
django-rules permission is asked (consolidation.run, read_feedback, propose_disposition,
record_disposition, export, import_template: a 403 for a participant without it), then a
service of consolidation.services does the work and checks again. Long work (runs, reports,
imports) is queued in Celery by the services; these endpoints answer with the job and
its URL to poll (202 Accepted).

Dispositions have their own strong ETag, "d<comment id>-<revision>" (revision 0: no
disposition yet); recording one and approving a proposal need If-Match with it.
"""

from __future__ import annotations

import re
from typing import Any, cast

import django_filters
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Organisation
from api.exceptions import PROBLEM_BASE, PreconditionFailed, PreconditionRequired
from api.pagination import IdCursorPagination
from api.schema import PROBLEM, ProblemSerializer, ValidationProblemSerializer
from api.serializers.consolidation import (
    DispositionProposeSerializer,
    DispositionRecordSerializer,
    DispositionSerializer,
    FeedbackCommentSerializer,
    FeedbackQuerySerializer,
    FeedbackSerializer,
    GroupDispositionResultSerializer,
    GroupDispositionSerializer,
    ImportJobSerializer,
    ImportRequestSerializer,
    ReportRequestSerializer,
    ReportSerializer,
    RunDetailSerializer,
    RunSerializer,
    disposition_etag,
    heatmap_data,
)
from comments.models import Comment
from config.downloads import file_download
from config.errors import StaleWriteError
from consolidation import selectors_feedback, selectors_reports, selectors_runs
from consolidation.models import ConsolidationRun, DuplicateGroup, DuplicateGroupMember, ImportJob, JobStatus, Report
from consolidation.naming import report_download_name
from consolidation.services import aggregation, dispositions, exports, imports
from consultations.models import Consultation, EngagementRound

from .base import ApiViewSet, comment_or_404, consultation_or_404, round_or_404

ROUND_ID = OpenApiParameter("round_id", int, OpenApiParameter.PATH, description="Round id.")
SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The consultation's short name.")
RUN_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Consolidation run id.")
COMMENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Comment id.")
GROUP_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Duplicate group id.")
REPORT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Report id.")
IMPORT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Import id.")
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The disposition\'s ETag as last read, e.g. "d12-3"; "d12-0" while the comment has none.',
)
ETAG = OpenApiParameter(
    "ETag", str, OpenApiParameter.HEADER, response=[200], description='"d<comment id>-<revision>" (strong).'
)
CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The pagination cursor value."),
    OpenApiParameter("page_size", int, description="Number of results to return per page."),
    OpenApiParameter("ordering", str, enum=["id", "-id"], description="Which field to use when ordering the results."),
]
FILE_TYPES = [
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/pdf",
]


def _problem(code: int, description: str, serializer=ProblemSerializer) -> tuple:
    return (code, PROBLEM), OpenApiResponse(serializer, description=description)


ALREADY_UNDER_WAY = _problem(409, "A consolidation of this round is already queued or running.")
NOT_READY = _problem(409, "The report is not done (queued, running or failed): nothing to download yet.")
ROUND_OPEN = _problem(
    400,
    "Invalid input, or the round is still open: dispositions wait until it has closed.",
    ValidationProblemSerializer,
)
BAD_FILTER = _problem(400, "A filter value is not valid; `errors` lists the messages.", ValidationProblemSerializer)


# --- errors ---------------------------------------------------------------------------------


class JobConflict(exceptions.APIException):
    """A 409 with its own problem type (the API's default 409 type is round-closed)."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(self, detail: str, *, problem: str, title):
        super().__init__(detail, code=problem)
        self.problem, self.title = problem, title


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """A service's ValidationError with its field names as the API calls them."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(field, field): errors for field, errors in exc.error_dict.items()})


_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def expected_disposition_revision(request, comment_id: int) -> int | None:
    """The disposition revision named by If-Match ("d<comment id>-<revision>"); None for `*`.

    428 without the header; 412 when no strong tag names this comment's disposition. Whether
    the named revision is still current is the service's to check, under its lock.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired(_("Recording a disposition needs If-Match with the disposition's ETag."))
    if header.strip() == "*":
        return None
    prefix = f"d{comment_id}-"
    for part in header.split(","):
        match = _TAG.fullmatch(part)
        if match and not match.group(1) and match.group(2).startswith(prefix):
            revision = match.group(2)[len(prefix) :]
            if revision.isdigit():
                return int(revision)
    raise PreconditionFailed(_("If-Match does not name this comment's disposition. Read it again."))


def _stale() -> PreconditionFailed:
    return PreconditionFailed(
        _("Someone changed this disposition since you read it. Read it again and make your decision again.")
    )


# --- shared ---------------------------------------------------------------------------------


class ConsolidationApiViewSet(ApiViewSet):
    """Rules are asked about the consultation the object belongs to."""

    def get_rule_object(self, obj):
        if isinstance(obj, EngagementRound):
            return obj.consultation
        if isinstance(obj, Comment):
            return obj.round.consultation
        return obj

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, JobConflict) and isinstance(response.data, dict):
            response.data["type"] = PROBLEM_BASE + exc.problem
            response.data["title"] = str(exc.title)
        return response

    def scoped_round(self, round_id) -> EngagementRound:
        """A round of the caller's consultations (else 404), if the action's rule allows (else 403)."""
        engagement_round = round_or_404(self.request, round_id)
        self.check_object_permissions(self.request, engagement_round)
        return engagement_round


def _parent_of(model, pk, field: str):
    """The round id (or consultation slug) an object belongs to; 404 if there is no such object.

    Only the parent is read here: the object itself is then fetched through the scoped
    selectors, inside that parent.
    """
    value = model.objects.filter(pk=pk).values_list(field, flat=True).first()
    if value is None:
        raise Http404
    return value


# --- consolidation runs ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Consolidation runs of a round, newest first by ?ordering=-id (secretariat, consultants)",
        tags=["consolidation"],
        parameters=[ROUND_ID],
    ),
    create=extend_schema(
        summary="Consolidate the round now (secretariat)",
        description="Queues a run; poll its `url` until `status` is done. 409 while another is queued or running.",
        tags=["consolidation"],
        parameters=[ROUND_ID],
        request=None,
        responses={202: RunSerializer, ALREADY_UNDER_WAY[0]: ALREADY_UNDER_WAY[1]},
    ),
)
class RoundConsolidationViewSet(mixins.ListModelMixin, ConsolidationApiViewSet):
    serializer_class = RunSerializer
    queryset = ConsolidationRun.objects.none()
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"list": "consolidation.read_feedback", "create": "consolidation.run"}

    def scoped_queryset(self):
        engagement_round = self.scoped_round(self.kwargs["round_id"])
        return selectors_runs.runs_of_round(engagement_round=engagement_round)

    def create(self, request, round_id):
        engagement_round = self.scoped_round(round_id)
        try:
            run = aggregation.consolidation_request(actor=request.user, engagement_round=engagement_round)
        except ValidationError as exc:
            if exc.code != "consolidation_active":
                raise
            raise JobConflict(
                " ".join(exc.messages),
                problem="consolidation-active",
                title=gettext_lazy("A consolidation is already under way."),
            )
        location = reverse("api:consolidation-detail", args=[run.pk])
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


@extend_schema_view(
    retrieve=extend_schema(
        summary="One consolidation run: progress, and once done its summary and duplicate groups",
        tags=["consolidation"],
        parameters=[RUN_ID],
        responses={200: RunDetailSerializer},
    ),
)
class ConsolidationViewSet(ConsolidationApiViewSet):
    serializer_class = RunDetailSerializer
    queryset = ConsolidationRun.objects.none()
    rule_permissions = {"retrieve": "consolidation.read_feedback"}

    def retrieve(self, request, pk):
        engagement_round = self.scoped_round(_parent_of(ConsolidationRun, pk, "round_id"))
        run = selectors_runs.get_run_of_round(engagement_round=engagement_round, run_id=pk)
        context: dict[str, Any] = {"summary": None, "groups": [], "member_ids": {}}
        if run.status == JobStatus.DONE:
            context["summary"] = selectors_runs.run_summary(run=run)
            groups = list(run.groups.select_related("section").order_by("section__position", "-size", "id"))
            # Each group's member comment ids, in one query: the serializer reads them from its context.
            member_ids: dict[int, list[int]] = {group.pk: [] for group in groups}
            members = DuplicateGroupMember.objects.filter(duplicategroup__run=run).order_by("id")
            for group_id, comment_id in members.values_list("duplicategroup_id", "comment_id"):
                member_ids[group_id].append(comment_id)
            context["groups"] = groups
            context["member_ids"] = member_ids
        return Response(RunDetailSerializer(run, context=context).data)


# --- consolidated feedback ------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(
        summary="Consolidated feedback of a round: the heat map and the filtered comments (secretariat, consultants)",
        description=(
            "The heat map and `summary` cover the whole round; `results` is one page of the submitted comments "
            "the filters select, each with its disposition and duplicate group (cursor-paginated by id)."
        ),
        tags=["consolidation"],
        parameters=[ROUND_ID, FeedbackQuerySerializer, *CURSOR_PARAMETERS],
        responses={200: FeedbackSerializer, BAD_FILTER[0]: BAD_FILTER[1]},
    ),
)
class FeedbackViewSet(ConsolidationApiViewSet):
    serializer_class = FeedbackSerializer
    queryset = Comment.objects.none()
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"retrieve": "consolidation.read_feedback"}

    def retrieve(self, request, round_id):
        engagement_round = self.scoped_round(round_id)
        query = FeedbackQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        user = request.user
        heatmap = selectors_feedback.feedback_heatmap(user=user, engagement_round=engagement_round)
        section_id = None
        if params.get("section"):
            section_id = next((s.pk for s in heatmap.sections if s.key == params["section"]), None)
            if section_id is None:
                raise ValidationError({"section": _("The version under review has no section with this key.")})
        filters = selectors_feedback.FeedbackFilters(
            section_id=section_id,
            organisation_id=params.get("organisation"),
            role=params.get("role", ""),
            comment_type=params.get("type", ""),
            disposition=params.get("disposition", ""),
            text=params.get("q", ""),
            duplicates_only=params["duplicates"],
            support=params.get("support", ""),
        )
        run = selectors_feedback.latest_done_run(engagement_round=engagement_round)
        comments = selectors_feedback.feedback_comments(
            user=user, engagement_round=engagement_round, filters=filters, run=run
        )
        paginator = cast(IdCursorPagination, self.paginator)
        page = paginator.paginate_queryset(comments, request, view=self) or []
        items = selectors_feedback.feedback_items(comments=page, run=run)
        body = {
            "round": engagement_round.pk,
            "run": run.pk if run else None,
            "heatmap": heatmap_data(heatmap),
            "summary": selectors_feedback.disposition_summary(user=user, engagement_round=engagement_round),
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": FeedbackCommentSerializer(items, many=True).data,
        }
        return Response(body)


# --- dispositions ---------------------------------------------------------------------------


def _disposition_response(comment_id: int, disposition) -> Response:
    response = Response(DispositionSerializer((comment_id, disposition)).data)
    response["ETag"] = disposition_etag(comment_id, disposition)
    return response


@extend_schema_view(
    retrieve=extend_schema(
        summary="A comment's disposition (secretariat, consultants); revision 0 while there is none",
        tags=["dispositions"],
        parameters=[COMMENT_ID, ETAG],
        responses={200: DispositionSerializer},
    ),
    update=extend_schema(
        summary="Record the secretariat's decision on a comment (If-Match; round closed)",
        tags=["dispositions"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=DispositionRecordSerializer,
        responses={200: DispositionSerializer, ROUND_OPEN[0]: ROUND_OPEN[1]},
    ),
    proposal=extend_schema(
        summary="Propose a decision (consultants, secretariat; round closed)",
        tags=["dispositions"],
        parameters=[COMMENT_ID, ETAG],
        request=DispositionProposeSerializer,
        responses={200: DispositionSerializer, ROUND_OPEN[0]: ROUND_OPEN[1]},
    ),
    approve=extend_schema(
        summary="Record the consultants' proposal as it stands (secretariat; If-Match)",
        tags=["dispositions"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=None,
        responses={200: DispositionSerializer, ROUND_OPEN[0]: ROUND_OPEN[1]},
    ),
)
class DispositionViewSet(ConsolidationApiViewSet):
    serializer_class = DispositionSerializer
    queryset = Comment.objects.none()
    rule_permissions = {
        "retrieve": "consolidation.read_feedback",
        "update": "consolidation.record_disposition",
        "proposal": "consolidation.propose_disposition",
        "approve": "consolidation.record_disposition",
    }
    if_match_actions = ("update", "approve")

    def get_object(self) -> Comment:
        comment = comment_or_404(self.request, self.kwargs["pk"])
        self.check_object_permissions(self.request, comment)
        return comment

    def _current(self, comment: Comment) -> selectors_feedback.DispositionView | None:
        """The comment's disposition as the feedback list shows it (404 unless submitted)."""
        item = selectors_feedback.feedback_item(
            user=self.request.user, engagement_round=comment.round, pk=comment.pk, run=None
        )
        return item.disposition

    def retrieve(self, request, pk):
        comment = self.get_object()
        return _disposition_response(comment.pk, self._current(comment))

    def update(self, request, pk):
        comment = self.get_object()
        expected = expected_disposition_revision(request, comment.pk)
        serializer = DispositionRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consultation = comment.round.consultation
        section_change = None
        if data["section_change"] is not None:
            wanted = (data["section_change"]["version"], data["section_change"]["key"])
            later = selectors_feedback.later_sections(consultation=consultation, version=comment.round.version)
            section_change = next((s for s in later if (s.version.number, s.key) == wanted), None)
            if section_change is None:
                raise ValidationError(
                    {"section_change": _("There is no such section in a later version than the one under review.")}
                )
        try:
            dispositions.disposition_record(
                actor=request.user,
                comment=comment,
                decision=data["decision"],
                response=data["response"],
                section_change=section_change,
                expected_revision=expected,
                consultation=consultation,
            )
        except StaleWriteError:
            raise _stale()
        return _disposition_response(comment.pk, self._current(comment))

    @action(detail=True, methods=["post"])
    def proposal(self, request, pk):
        comment = self.get_object()
        serializer = DispositionProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dispositions.disposition_propose(
            actor=request.user, comment=comment, consultation=comment.round.consultation, **serializer.validated_data
        )
        return _disposition_response(comment.pk, self._current(comment))

    @action(detail=True, methods=["post"])
    def approve(self, request, pk):
        comment = self.get_object()
        expected = expected_disposition_revision(request, comment.pk)
        try:
            dispositions.disposition_approve_proposal(
                actor=request.user, comment=comment, expected_revision=expected, consultation=comment.round.consultation
            )
        except StaleWriteError:
            raise _stale()
        return _disposition_response(comment.pk, self._current(comment))


@extend_schema_view(
    disposition=extend_schema(
        summary="One decision for every comment of a duplicate group (secretariat; round closed)",
        tags=["dispositions"],
        parameters=[GROUP_ID],
        request=GroupDispositionSerializer,
        responses={200: GroupDispositionResultSerializer, ROUND_OPEN[0]: ROUND_OPEN[1]},
    ),
)
class DuplicateGroupViewSet(ConsolidationApiViewSet):
    serializer_class = GroupDispositionResultSerializer
    queryset = DuplicateGroup.objects.none()
    rule_permissions = {"disposition": "consolidation.record_disposition"}

    @action(detail=True, methods=["post"])
    def disposition(self, request, pk):
        engagement_round = self.scoped_round(_parent_of(DuplicateGroup, pk, "run__round_id"))
        group = selectors_feedback.get_group_for_round(engagement_round=engagement_round, pk=pk)
        serializer = GroupDispositionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recorded = dispositions.disposition_record_group(
            actor=request.user, group=group, consultation=engagement_round.consultation, **serializer.validated_data
        )
        body = {
            "group": group.pk,
            "dispositions": [(d.comment_id, selectors_feedback.disposition_view(d)) for d in recorded],
        }
        return Response(GroupDispositionResultSerializer(body).data)


# --- reports --------------------------------------------------------------------------------


class ReportFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Report.Kind.choices)
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = Report
        fields = ["kind", "status"]


@extend_schema_view(
    list=extend_schema(
        summary="Reports of a consultation: the caller's own (the secretariat and admins: everyone's)",
        tags=["reports"],
        parameters=[SLUG],
    ),
    create=extend_schema(
        summary="Ask for a report or export; it holds what the caller may see",
        description=(
            "resolution_matrix: xlsx or csv (one round, or all rounds without `round`); consolidated_feedback: "
            "docx, needs `round`; revision_report: pdf or docx, needs `version`. Poll the report's `url`."
        ),
        tags=["reports"],
        parameters=[SLUG],
        request=ReportRequestSerializer,
        responses={202: ReportSerializer},
    ),
)
class ConsultationReportViewSet(mixins.ListModelMixin, ConsolidationApiViewSet):
    serializer_class = ReportSerializer
    queryset = Report.objects.none()
    filterset_class = ReportFilter
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"list": "consolidation.export", "create": "consolidation.export"}

    def _consultation(self, slug) -> Consultation:
        consultation = consultation_or_404(self.request, slug)
        self.check_object_permissions(self.request, consultation)
        return consultation

    def scoped_queryset(self):
        consultation = self._consultation(self.kwargs["slug"])
        return selectors_reports.reports_visible_to(user=self.request.user, consultation=consultation)

    def create(self, request, slug):
        consultation = self._consultation(slug)
        serializer = ReportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        engagement_round = version = None
        if data.get("round") is not None:
            engagement_round = (
                selectors_reports.rounds_for_reports(consultation=consultation).filter(pk=data["round"]).first()
            )
            if engagement_round is None:
                raise ValidationError({"round": _("This consultation has no round with this id.")})
        if data.get("version"):
            version = (
                selectors_reports.versions_for_reports(user=request.user, consultation=consultation)
                .filter(number=data["version"])
                .first()
            )
            if version is None:
                raise ValidationError({"version": _("This consultation has no version with this number.")})
        try:
            report = exports.report_request(
                actor=request.user,
                consultation=consultation,
                kind=data["kind"],
                format=data["format"],
                engagement_round=engagement_round,
                version=version,
            )
        except ValidationError as exc:
            raise _renamed(exc, {"engagement_round": "round"})
        location = reverse("api:report-detail", args=[report.pk])
        return Response(ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


@extend_schema_view(
    retrieve=extend_schema(
        summary="One report: status, progress, and its download URL once done",
        tags=["reports"],
        parameters=[REPORT_ID],
        responses={200: ReportSerializer},
    ),
    download=extend_schema(
        summary="The report's file",
        tags=["reports"],
        parameters=[REPORT_ID],
        responses={
            **{(200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The file.") for media in FILE_TYPES},
            NOT_READY[0]: NOT_READY[1],
        },
    ),
)
class ReportViewSet(ConsolidationApiViewSet):
    serializer_class = ReportSerializer
    queryset = Report.objects.none()
    rule_permissions = {"retrieve": "consolidation.export", "download": "consolidation.export"}

    def get_object(self) -> Report:
        pk = self.kwargs["pk"]
        consultation = consultation_or_404(self.request, _parent_of(Report, pk, "consultation__slug"))
        self.check_object_permissions(self.request, consultation)
        return selectors_reports.get_report_for_user(user=self.request.user, consultation=consultation, pk=pk)

    def retrieve(self, request, pk):
        return Response(ReportSerializer(self.get_object()).data)

    @action(detail=True, methods=["get"])
    def download(self, request, pk):
        report = self.get_object()
        if report.status != JobStatus.DONE or not report.file:
            raise JobConflict(
                _("This report is %(status)s: there is no file to download yet.")
                % {"status": report.get_status_display().lower()},
                problem="report-not-ready",
                title=gettext_lazy("The report is not ready."),
            )
        try:
            fileobj = report.file.open("rb")
        except FileNotFoundError:
            raise Http404
        exports.report_download_record(actor=request.user, report=report)
        return file_download(fileobj, report_download_name(report))


# --- template imports -----------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="Import an organisation's filled comment template (XLSX; secretariat)",
        description="The file is checked at once (size, a real XLSX: else 400), its rows in Celery. Poll `url`.",
        tags=["imports"],
        parameters=[ROUND_ID],
        request={"multipart/form-data": ImportRequestSerializer},
        responses={202: ImportJobSerializer},
    ),
)
class RoundImportViewSet(ConsolidationApiViewSet):
    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()
    parser_classes = [MultiPartParser, FormParser]
    rule_permissions = {"create": "consolidation.import_template"}

    def create(self, request, round_id):
        engagement_round = self.scoped_round(round_id)
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organisation = Organisation.objects.filter(pk=data["organisation"]).first()
        if organisation is None:
            raise ValidationError({"organisation": _("This organisation does not take part in the consultation.")})
        try:
            job = imports.import_request(
                actor=request.user, engagement_round=engagement_round, organisation=organisation, upload=data["file"]
            )
        except ValidationError as exc:
            raise _renamed(exc, {"upload": "file"})
        location = reverse("api:import-detail", args=[job.pk])
        job = selectors_reports.get_import_for_user(
            user=request.user, consultation=engagement_round.consultation, pk=job.pk
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


@extend_schema_view(
    retrieve=extend_schema(
        summary="One template import: status, progress, comments created, errors by row and column (secretariat)",
        tags=["imports"],
        parameters=[IMPORT_ID],
        responses={200: ImportJobSerializer},
    ),
)
class ImportViewSet(ConsolidationApiViewSet):
    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()
    rule_permissions = {"retrieve": "consolidation.import_template"}

    def retrieve(self, request, pk):
        engagement_round = self.scoped_round(_parent_of(ImportJob, pk, "round_id"))
        job = selectors_reports.get_import_for_user(
            user=request.user, consultation=engagement_round.consultation, pk=pk
        )
        return Response(ImportJobSerializer(job).data)
