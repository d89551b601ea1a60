"""Consolidation runs, consolidated feedback, dispositions, report jobs and template imports.

Serializers only shape data: every write goes through consolidation.services, which checks
the actor, the round's state and the input again.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.text import capfirst
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.comments import OrganisationSerializer, PersonSerializer, TargetSerializer, target_of
from comments.models import BODY_MAX_LENGTH, Comment
from config import jobs
from consolidation.models import ConsolidationRun, Disposition, DuplicateGroup, ImportJob, JobStatus, Report
from consolidation.selectors_feedback import (
    DISPOSITION_NONE,
    SUPPORT_ANY,
    SUPPORT_NONE,
    DispositionView,
    FeedbackItem,
)
from consultations.models import Role

DISPOSITION_STATES = [
    ("none", "No disposition yet"),
    ("proposed", "Proposed, not decided"),
    *Disposition.Decision.choices,
]


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented as a named enum component (`enum_name`).

    Several components here share a field name ("status", "kind") with other choice sets;
    drf-spectacular's automatic enum naming would warn about the collision.
    """

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "api.serializers.consolidation.NamedChoiceField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "enum": list(field.choices),
                "type": "string",
                "description": "\n".join(f"* `{value}` - {label}" for value, label in field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


def job_status(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="JobStatusEnum", choices=JobStatus.choices, read_only=True, **kwargs)


class QueuedJobFields(serializers.Serializer):
    """What every background job says while the task queue cannot be reached (config.jobs)."""

    waiting_for_queue = serializers.BooleanField(
        read_only=True,
        help_text="True while the job is saved but the task queue could not be reached; it starts by itself "
        "as soon as the queue is back, so there is no need to ask again.",
    )
    notice = serializers.SerializerMethodField(help_text="A message to show people, or null.")

    def get_notice(self, obj) -> str | None:
        return str(jobs.WAITING_FOR_QUEUE) if obj.waiting_for_queue else None


def disposition_etag(comment_id: int, disposition: Disposition | DispositionView | None) -> str:
    """The disposition's strong ETag: "d<comment id>-<revision>" (revision 0: none yet)."""
    return f'"d{comment_id}-{disposition.revision if disposition is not None else 0}"'


# --- consolidation runs -------------------------------------------------------------------


class RunSerializer(QueuedJobFields, serializers.ModelSerializer):
    """A run as listed: where it stands, without its result."""

    status = job_status()
    requested_by = PersonSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ConsolidationRun
        fields = [
            "id",
            "url",
            "round",
            "status",
            "progress",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "as_of",
            "comment_count",
            "error",
            "waiting_for_queue",
            "notice",
        ]
        read_only_fields = fields

    def get_url(self, obj: ConsolidationRun) -> str:
        return reverse("api:consolidation-detail", args=[obj.pk])


class CountByCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    count = serializers.IntegerField()


class RunTotalsSerializer(serializers.Serializer):
    comments = serializers.IntegerField()
    hidden = serializers.IntegerField()
    endorsed = serializers.IntegerField(help_text="Comments in a national position.")
    individual = serializers.IntegerField()
    organisations = serializers.IntegerField()
    sections = serializers.IntegerField()
    exact_groups = serializers.IntegerField()
    near_groups = serializers.IntegerField()
    grouped_comments = serializers.IntegerField()
    campaigns = serializers.IntegerField(help_text="Texts pasted on several sections (campaigns across sections).")


class RunOrganisationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    country_code = serializers.CharField(allow_blank=True)
    total = serializers.IntegerField()
    endorsed = serializers.IntegerField()
    individual = serializers.IntegerField()
    hidden = serializers.IntegerField()
    by_type = serializers.DictField(child=serializers.IntegerField(), help_text="Comments per type code.")


class RunNationalPositionSerializer(serializers.Serializer):
    organisation = serializers.IntegerField()
    name = serializers.CharField()
    country_code = serializers.CharField(allow_blank=True)
    endorsed = serializers.IntegerField()
    endorsed_ids = serializers.ListField(child=serializers.IntegerField())
    submitted = serializers.BooleanField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted_count = serializers.IntegerField()


class RunSummarySerializer(serializers.Serializer):
    """What the run page shows of a finished run (consolidation.selectors_runs.run_summary)."""

    totals = RunTotalsSerializer()
    types = CountByCodeSerializer(many=True, help_text="Comments per type.")
    statuses = CountByCodeSerializer(many=True, help_text="Comments per disposition state.")
    organisations = RunOrganisationSerializer(many=True)
    national_positions = RunNationalPositionSerializer(many=True)
    group_count = serializers.IntegerField()


class DuplicateGroupSerializer(serializers.ModelSerializer):
    section = serializers.CharField(source="section.key", read_only=True, help_text="The section's stable key.")
    kind = NamedChoiceField(enum_name="DuplicateGroupKindEnum", choices=DuplicateGroup.Kind.choices, read_only=True)
    comments = serializers.SerializerMethodField(help_text="Member comment ids, in section order.")

    class Meta:
        model = DuplicateGroup
        fields = ["id", "section", "kind", "size", "similarity", "comments"]
        read_only_fields = fields

    def get_comments(self, obj: DuplicateGroup) -> list[int]:
        # {group id: member comment ids} from the view, fetched for all groups at once.
        return self.context.get("member_ids", {}).get(obj.pk, [])


class RunDetailSerializer(RunSerializer):
    summary = serializers.SerializerMethodField(help_text="Null until the run is done.")
    duplicate_groups = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "summary", "duplicate_groups"]
        read_only_fields = fields

    @extend_schema_field(RunSummarySerializer(allow_null=True))
    def get_summary(self, obj: ConsolidationRun) -> dict | None:
        summary = self.context.get("summary")
        if summary is None:
            return None
        # A result written by an older schema may lack some totals: they count as 0.
        totals = {name: summary["totals"].get(name, 0) for name in RunTotalsSerializer().fields}
        return RunSummarySerializer({**summary, "totals": totals}).data

    @extend_schema_field(DuplicateGroupSerializer(many=True))
    def get_duplicate_groups(self, obj: ConsolidationRun) -> list:
        groups = serializers.ListSerializer(
            self.context.get("groups", []),
            child=DuplicateGroupSerializer(),
            context={"member_ids": self.context.get("member_ids", {})},
        )
        return groups.data


# --- dispositions -------------------------------------------------------------------------


class SectionRefSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=20, help_text="Version number, e.g. 0.2.")
    key = serializers.CharField(max_length=64, help_text="The section's stable key in that version.")


class DispositionSerializer(serializers.Serializer):
    """A comment's disposition; revision 0 and empty fields while there is none yet."""

    comment = serializers.IntegerField(read_only=True)
    state = NamedChoiceField(enum_name="DispositionStateEnum", choices=DISPOSITION_STATES, read_only=True)
    decision = serializers.CharField(read_only=True, help_text="Empty while undecided; else a decision code.")
    response = serializers.CharField(read_only=True)
    decided_by = PersonSerializer(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    proposed_decision = serializers.CharField(read_only=True, help_text="The consultants' proposal, if any.")
    proposed_response = serializers.CharField(read_only=True)
    proposed_by = PersonSerializer(read_only=True, allow_null=True)
    proposed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    section_change = SectionRefSerializer(read_only=True, allow_null=True)
    revision = serializers.IntegerField(read_only=True)
    etag = serializers.CharField(read_only=True, help_text='Send it back in If-Match: "d<comment id>-<revision>".')

    def to_representation(self, instance: tuple[int, DispositionView | None]) -> dict:
        comment_id, d = instance
        person = PersonSerializer()
        when = serializers.DateTimeField()
        change = d.section_change if d is not None else None
        return {
            "comment": comment_id,
            "state": d.state if d is not None else DISPOSITION_NONE,
            "decision": d.decision if d else "",
            "response": d.response if d else "",
            "decided_by": person.to_representation(d.decided_by) if d and d.decided_by else None,
            "decided_at": when.to_representation(d.decided_at) if d and d.decided_at else None,
            "proposed_decision": d.proposed_decision if d else "",
            "proposed_response": d.proposed_response if d else "",
            "proposed_by": person.to_representation(d.proposed_by) if d and d.proposed_by else None,
            "proposed_at": when.to_representation(d.proposed_at) if d and d.proposed_at else None,
            "section_change": {"version": change.version_number, "key": change.key} if change else None,
            "revision": d.revision if d else 0,
            "etag": disposition_etag(comment_id, d),
        }


def decision_field() -> NamedChoiceField:
    return NamedChoiceField(enum_name="DispositionDecisionEnum", choices=Disposition.Decision.choices)


class DispositionRecordSerializer(serializers.Serializer):
    decision = decision_field()
    response = serializers.CharField(
        max_length=BODY_MAX_LENGTH, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    section_change = SectionRefSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="The section of a later version this decision led to changing; null: none.",
    )


class DispositionProposeSerializer(serializers.Serializer):
    decision = decision_field()
    response = serializers.CharField(
        max_length=BODY_MAX_LENGTH, required=False, allow_blank=True, default="", trim_whitespace=False
    )


class GroupDispositionSerializer(DispositionProposeSerializer):
    pass


class GroupDispositionResultSerializer(serializers.Serializer):
    group = serializers.IntegerField(read_only=True)
    dispositions = DispositionSerializer(many=True, read_only=True)


# --- consolidated feedback ----------------------------------------------------------------


class FeedbackQuerySerializer(serializers.Serializer):
    """The filters of the consolidated feedback list (query parameters)."""

    section = serializers.CharField(max_length=64, required=False, help_text="Section key.")
    organisation = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    role = serializers.ChoiceField(choices=Role.choices, required=False, help_text="The author's role.")
    type = serializers.ChoiceField(choices=Comment.Type.choices, required=False)
    disposition = serializers.ChoiceField(choices=DISPOSITION_STATES, required=False)
    q = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Text search.")
    duplicates = serializers.BooleanField(required=False, default=False, help_text="Only comments in a group.")
    support = serializers.ChoiceField(
        choices=[SUPPORT_ANY, SUPPORT_NONE],
        required=False,
        help_text="Only comments other delegations support, or only those none supports.",
    )


class HeatMapSectionSerializer(serializers.Serializer):
    key = serializers.CharField()
    number = serializers.CharField(allow_blank=True)
    heading = serializers.CharField(allow_blank=True)
    total = serializers.IntegerField()


class HeatMapOrganisationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    total = serializers.IntegerField()


class HeatMapSerializer(serializers.Serializer):
    """Submitted comments per section (rows, document order) and organisation (columns)."""

    sections = HeatMapSectionSerializer(many=True)
    organisations = HeatMapOrganisationSerializer(many=True)
    counts = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="counts[i][j]: comments on sections[i] by organisations[j].",
    )
    total = serializers.IntegerField()
    max_count = serializers.IntegerField()


def heatmap_data(heatmap) -> dict:
    organisations = heatmap.organisations
    rows, section_entries = [], []
    for section in heatmap.sections:
        row = [heatmap.count(section.pk, org.pk) for org in organisations]
        rows.append(row)
        section_entries.append(
            {"key": section.key, "number": section.number, "heading": section.heading, "total": sum(row)}
        )
    return {
        "sections": section_entries,
        "organisations": [
            {
                "id": org.pk,
                "name": org.name,
                "kind": org.kind,
                "total": sum(rows[i][j] for i in range(len(rows))),
            }
            for j, org in enumerate(organisations)
        ],
        "counts": rows,
        "total": heatmap.total,
        "max_count": heatmap.max_count,
    }


class DispositionSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Submitted comments.")
    decided = serializers.IntegerField()
    proposed = serializers.IntegerField(help_text="Proposed, not decided yet.")


class GroupRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    size = serializers.IntegerField()


def _label(field: str):
    """The model field's label, as a ModelSerializer would give it (the schema's title)."""
    return capfirst(getattr(Comment._meta.get_field(field), "verbose_name", field))


class FeedbackCommentSerializer(serializers.Serializer):
    """A submitted comment on the consolidated feedback list, with its disposition and group."""

    # It serializes the read model the page renders (consolidation.selectors_feedback.FeedbackItem).

    id = serializers.IntegerField(read_only=True)
    section = serializers.CharField(source="section.key", read_only=True)
    section_number = serializers.CharField(source="section.number", read_only=True)
    author = PersonSerializer(read_only=True)
    organisation = OrganisationSerializer(read_only=True)
    type = serializers.ChoiceField(choices=Comment.Type.choices, read_only=True)
    body = serializers.CharField(read_only=True, label=_label("body"))
    proposed_change = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    target = serializers.SerializerMethodField()
    is_endorsed = serializers.BooleanField(read_only=True, label=_label("is_endorsed"))
    is_hidden = serializers.BooleanField(read_only=True, label=_label("is_hidden"))
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    disposition = serializers.SerializerMethodField()
    duplicate_group = serializers.SerializerMethodField()
    supported_by = OrganisationSerializer(
        source="supporters", many=True, read_only=True, help_text="The other delegations that support the comment."
    )

    @extend_schema_field(TargetSerializer)
    def get_target(self, obj: FeedbackItem) -> dict:
        return target_of(obj)

    @extend_schema_field(DispositionSerializer)
    def get_disposition(self, obj: FeedbackItem) -> dict:
        return DispositionSerializer((obj.id, obj.disposition)).data

    @extend_schema_field(GroupRefSerializer(allow_null=True))
    def get_duplicate_group(self, obj: FeedbackItem) -> dict | None:
        group = obj.group
        return {"id": group.id, "kind": group.kind, "size": group.size} if group else None


class FeedbackSerializer(serializers.Serializer):
    """One page of the consolidated feedback, with the heat map and progress of the whole round."""

    round = serializers.IntegerField()
    run = serializers.IntegerField(allow_null=True, help_text="The latest finished consolidation run, if any.")
    heatmap = HeatMapSerializer()
    summary = DispositionSummarySerializer()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = FeedbackCommentSerializer(many=True)


# --- reports ------------------------------------------------------------------------------


def report_kind(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="ReportKindEnum", choices=Report.Kind.choices, **kwargs)


def report_format(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="ReportFormatEnum", choices=Report.Format.choices, **kwargs)


class ReportSerializer(QueuedJobFields, serializers.ModelSerializer):
    kind = report_kind(read_only=True)
    format = report_format(read_only=True)
    status = job_status()
    round = serializers.IntegerField(source="round_id", read_only=True, allow_null=True)
    version = serializers.SerializerMethodField()
    requested_by = PersonSerializer(read_only=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Null until the file is ready.")

    class Meta:
        model = Report
        fields = [
            "id",
            "url",
            "kind",
            "format",
            "round",
            "version",
            "status",
            "progress",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "as_of",
            "size",
            "error",
            "download_url",
            "waiting_for_queue",
            "notice",
        ]
        read_only_fields = fields

    def get_version(self, obj: Report) -> str | None:
        return obj.version.number if obj.version else None

    def get_url(self, obj: Report) -> str:
        return reverse("api:report-detail", args=[obj.pk])

    def get_download_url(self, obj: Report) -> str | None:
        if obj.status != JobStatus.DONE or not obj.file:
            return None
        return reverse("api:report-download", args=[obj.pk])


class ReportRequestSerializer(serializers.Serializer):
    kind = report_kind()
    format = report_format()
    round = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**31 - 1, help_text="Round id; none: all rounds."
    )
    version = serializers.CharField(
        max_length=20, required=False, allow_null=True, help_text="Version number (revision report)."
    )


# --- template imports ---------------------------------------------------------------------


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="The row number Excel shows.")
    column = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportJobSerializer(QueuedJobFields, serializers.ModelSerializer):
    status = job_status()
    organisation = OrganisationSerializer(read_only=True)
    requested_by = PersonSerializer(read_only=True)
    errors = ImportErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "round",
            "organisation",
            "file_name",
            "status",
            "progress",
            "row_count",
            "created_count",
            "errors",
            "requested_by",
            "requested_at",
            "finished_at",
            "waiting_for_queue",
            "notice",
        ]
        read_only_fields = fields

    def get_url(self, obj: ImportJob) -> str:
        return reverse("api:import-detail", args=[obj.pk])


class ImportRequestSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="Id of the organisation whose template it is."
    )
    file = serializers.FileField(help_text="The filled comment template (XLSX).")
