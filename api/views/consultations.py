"""Consultations, phases, rounds, versions, sections, participants and invitations.

Reads go through consultations.selectors (404 outside the caller's scope), writes through
consultations.services (invitations included); the rules asked are the
pages' own (consultations.rules). A service's refusal is a 400 with its message, and nothing
has changed: e.g. editing a section of a published version, or publishing it twice.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Organisation
from api.pagination import PositionCursorPagination
from api.permissions import check
from api.serializers.consultations import (
    ConsultationSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    ParticipantSerializer,
    PhaseCreateSerializer,
    PhaseSerializer,
    RoundCreateSerializer,
    RoundExtendSerializer,
    RoundRescheduleSerializer,
    RoundSerializer,
    SectionAddSerializer,
    SectionSerializer,
    SectionUpdateSerializer,
    VersionCopySerializer,
    VersionCreateSerializer,
    VersionSerializer,
    VersionUploadSerializer,
)
from consolidation.selectors_runs import ROUND_PHASE_CHOICES, rounds_in_phase
from consultations import manage_selectors, services
from consultations.models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Invitation,
    Participation,
    Phase,
    Section,
)
from consultations.selectors import (
    consultations_for_user,
    get_version_for_user,
    participants_of,
    rounds_for_consultation,
    versions_visible_to,
)
from consultations.uploads import version_create_from_upload

from .base import ApiViewSet, consultation_or_404, round_or_404

SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The consultation's short name.")
NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="Version number, e.g. 0.2.")
KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The section's stable key.")
ROUND_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Round id.")


@extend_schema_view(
    list=extend_schema(summary="Consultations the caller takes part in", tags=["consultations"]),
    retrieve=extend_schema(summary="One consultation", tags=["consultations"], parameters=[SLUG]),
)
class ConsultationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ConsultationSerializer
    queryset = Consultation.objects.none()
    lookup_field = "slug"
    lookup_value_converter = "slug"
    ordering_fields = ["id"]
    ordering = ["-id"]

    def scoped_queryset(self):
        return consultations_for_user(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="The consultation's timeline", tags=["consultations"], parameters=[SLUG]),
    create=extend_schema(
        summary="Add a phase to the timeline (secretariat)",
        tags=["consultations"],
        parameters=[SLUG],
        request=PhaseCreateSerializer,
        responses={201: PhaseSerializer},
    ),
)
class PhaseViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = PhaseSerializer
    queryset = Phase.objects.none()
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"create": "consultations.manage_rounds"}

    def scoped_queryset(self):
        return consultation_or_404(self.request, self.kwargs["slug"]).phases.all()

    def create(self, request, slug):
        consultation = consultation_or_404(request, slug)
        check(self, request, consultation)
        serializer = PhaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        phase = services.phase_create(actor=request.user, consultation=consultation, **serializer.validated_data)
        return Response(PhaseSerializer(phase).data, status=status.HTTP_201_CREATED)


class RoundFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ROUND_PHASE_CHOICES, method="filter_state")

    class Meta:
        model = EngagementRound
        fields = ["state"]

    def filter_state(self, queryset, name, value):
        return rounds_in_phase(queryset, value)


def _round_response(engagement_round: EngagementRound, *, status_code=status.HTTP_200_OK) -> Response:
    fresh = rounds_for_consultation(consultation=engagement_round.consultation).get(pk=engagement_round.pk)
    return Response(RoundSerializer(fresh).data, status=status_code)


@extend_schema_view(
    list=extend_schema(summary="Rounds of a consultation", tags=["rounds"], parameters=[SLUG]),
    create=extend_schema(
        summary="Schedule a round (secretariat)",
        tags=["rounds"],
        parameters=[SLUG],
        request=RoundCreateSerializer,
        responses={201: RoundSerializer},
    ),
)
class ConsultationRoundViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = RoundSerializer
    queryset = EngagementRound.objects.none()
    filterset_class = RoundFilter
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"create": "consultations.manage_rounds"}

    def scoped_queryset(self):
        return rounds_for_consultation(consultation=consultation_or_404(self.request, self.kwargs["slug"]))

    def create(self, request, slug):
        consultation = consultation_or_404(request, slug)
        check(self, request, consultation)
        serializer = RoundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = (
            versions_visible_to(user=request.user, consultation=consultation).filter(number=data["version"]).first()
        )
        if version is None:
            raise ValidationError({"version": _("This consultation has no version with this number.")})
        engagement_round = services.round_schedule(
            actor=request.user,
            version=version,
            title=data["title"],
            opens_at=data["opens_at"],
            closes_at=data["closes_at"],
            commenting_roles=data["commenting_roles"],
            visibility=data["visibility"],
        )
        return _round_response(engagement_round, status_code=status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(summary="One round", tags=["rounds"], parameters=[ROUND_ID]),
    reschedule=extend_schema(
        summary="Change a round's opening and closing times (secretariat)",
        tags=["rounds"],
        parameters=[ROUND_ID],
        request=RoundRescheduleSerializer,
        responses={200: RoundSerializer},
    ),
    open_now=extend_schema(
        summary="Open a scheduled round now (secretariat)",
        tags=["rounds"],
        parameters=[ROUND_ID],
        request=None,
        responses={200: RoundSerializer},
    ),
    close_now=extend_schema(
        summary="Close an open round now, extensions included (secretariat)",
        tags=["rounds"],
        parameters=[ROUND_ID],
        request=None,
        responses={200: RoundSerializer},
    ),
    extend=extend_schema(
        summary="Give one organisation a later deadline (secretariat)",
        tags=["rounds"],
        parameters=[ROUND_ID],
        request=RoundExtendSerializer,
        responses={200: RoundSerializer},
    ),
)
class RoundViewSet(ApiViewSet):
    serializer_class = RoundSerializer
    queryset = EngagementRound.objects.none()  # the schema's model; reads use round_or_404
    rule_permissions = {
        "reschedule": "consultations.manage_rounds",
        "open_now": "consultations.manage_rounds",
        "close_now": "consultations.manage_rounds",
        "extend": "consultations.manage_rounds",
    }

    def get_object(self):
        engagement_round = round_or_404(self.request, self.kwargs["pk"])
        self.check_object_permissions(self.request, engagement_round)
        return engagement_round

    def get_rule_object(self, obj):
        return obj.consultation

    def retrieve(self, request, pk):
        return Response(RoundSerializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk):
        engagement_round = self.get_object()
        serializer = RoundRescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        engagement_round = services.round_reschedule(
            actor=request.user, engagement_round=engagement_round, **serializer.validated_data
        )
        return _round_response(engagement_round)

    @action(detail=True, methods=["post"], url_path="open-now")
    def open_now(self, request, pk):
        engagement_round = services.round_open_now(actor=request.user, engagement_round=self.get_object())
        return _round_response(engagement_round)

    @action(detail=True, methods=["post"], url_path="close-now")
    def close_now(self, request, pk):
        engagement_round = services.round_close_now(actor=request.user, engagement_round=self.get_object())
        return _round_response(engagement_round)

    @action(detail=True, methods=["post"])
    def extend(self, request, pk):
        engagement_round = self.get_object()
        serializer = RoundExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organisation = Organisation.objects.filter(pk=data["organisation"]).first()
        if organisation is None:
            raise ValidationError({"organisation": _("This organisation does not take part in the consultation.")})
        services.round_extend(
            actor=request.user,
            engagement_round=engagement_round,
            organisation=organisation,
            closes_at=data["closes_at"],
            reason=data["reason"],
        )
        return _round_response(engagement_round)


class VersionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DraftVersion.Status.choices)

    class Meta:
        model = DraftVersion
        fields = ["status"]


def _version_response(request, consultation: Consultation, version: DraftVersion, *, status_code=status.HTTP_200_OK):
    fresh = get_version_for_user(user=request.user, consultation=consultation, number=version.number)
    headers = {}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = reverse("api:version-detail", args=[consultation.slug, fresh.number])
    return Response(VersionSerializer(fresh).data, status=status_code, headers=headers)


def _drafts(nodes: list[dict], level: int = 1) -> list[services.SectionDraft]:
    """The request's section tree as the service's SectionDrafts."""
    return [
        services.SectionDraft(
            heading=node["heading"],
            level=level,
            number=node["number"],
            body=node["body"],
            children=_drafts(node["children"], level + 1),
        )
        for node in nodes
    ]


@extend_schema_view(
    list=extend_schema(
        summary="Versions of the draft (drafts in preparation only for those who prepare them)",
        tags=["versions"],
        parameters=[SLUG],
    ),
    retrieve=extend_schema(summary="One version", tags=["versions"], parameters=[SLUG, NUMBER]),
    create=extend_schema(
        summary="Start a new draft version: upload a document, or send its section tree (secretariat, consultants)",
        description=(
            "`multipart/form-data` with `file` (.docx or .md; its headings become the sections) or "
            "`application/json` with `sections` (heading, number, body, children). The version is a draft "
            "until published. A file the importer cannot read is a 400 on `file` with its message."
        ),
        tags=["versions"],
        parameters=[SLUG],
        request={"application/json": VersionCreateSerializer, "multipart/form-data": VersionUploadSerializer},
        responses={201: VersionSerializer},
    ),
    copy=extend_schema(
        summary="Start the next version as an editable copy of this one (secretariat, consultants)",
        description="Sections keep their keys. The copy is a draft until published.",
        tags=["versions"],
        parameters=[SLUG, NUMBER],
        request=VersionCopySerializer,
        responses={201: VersionSerializer},
    ),
    publish=extend_schema(
        summary="Publish a draft version; it can no longer change (secretariat, consultants)",
        description="A version already published, or without sections, is a 400 and nothing changes.",
        tags=["versions"],
        parameters=[SLUG, NUMBER],
        request=None,
        responses={200: VersionSerializer},
    ),
)
class VersionViewSet(mixins.ListModelMixin, ApiViewSet):
    lookup_url_kwarg = "number"
    lookup_value_converter = "str"
    serializer_class = VersionSerializer
    queryset = DraftVersion.objects.none()
    filterset_class = VersionFilter
    ordering_fields = ["id"]
    ordering = ["id"]
    parser_classes = [JSONParser, MultiPartParser]
    rule_permissions = {
        "create": "consultations.manage_versions",
        "copy": "consultations.manage_versions",
        "publish": "consultations.manage_versions",
    }

    def scoped_queryset(self):
        consultation = consultation_or_404(self.request, self.kwargs["slug"])
        return versions_visible_to(user=self.request.user, consultation=consultation)

    def _scoped_version(self, slug, number) -> tuple[Consultation, DraftVersion]:
        """The version if the caller sees it (else 404) and the action's rule allows (else 403)."""
        consultation = consultation_or_404(self.request, slug)
        version = get_version_for_user(user=self.request.user, consultation=consultation, number=number)
        check(self, self.request, consultation)
        version.consultation = consultation  # the services read it; spare the query
        return consultation, version

    def retrieve(self, request, slug, number):
        consultation = consultation_or_404(request, slug)
        version = get_version_for_user(user=request.user, consultation=consultation, number=number)
        return Response(VersionSerializer(version).data)

    def create(self, request, slug):
        consultation = consultation_or_404(request, slug)
        check(self, request, consultation)
        if request.content_type.startswith("multipart/"):
            upload = VersionUploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            data = upload.validated_data
            version = version_create_from_upload(
                actor=request.user,
                consultation=consultation,
                number=data["number"],
                upload=data["file"],
                change_summary=data["change_summary"],
                title=data["title"],
            )
        else:
            serializer = VersionCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            version = services.version_create(
                actor=request.user,
                consultation=consultation,
                number=data["number"],
                sections=_drafts(data["sections"]),
                change_summary=data["change_summary"],
                title=data["title"],
            )
        return _version_response(request, consultation, version, status_code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def copy(self, request, slug, number):
        consultation, source = self._scoped_version(slug, number)
        serializer = VersionCopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.version_copy_for_editing(actor=request.user, source=source, **serializer.validated_data)
        return _version_response(request, consultation, version, status_code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def publish(self, request, slug, number):
        consultation, version = self._scoped_version(slug, number)
        version = services.version_publish(actor=request.user, version=version)
        return _version_response(request, consultation, version)


class SectionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Section.Kind.choices)
    parent = django_filters.CharFilter(field_name="parent__key", help_text="Children of the section with this key.")

    class Meta:
        model = Section
        fields = ["kind", "parent"]


SECTION_WRITES = "A 400 if the version is published (it can no longer change): nothing changes."


@extend_schema_view(
    list=extend_schema(
        summary="Sections of a version, in document order (flat; parent/depth give the tree)",
        tags=["versions"],
        parameters=[SLUG, NUMBER],
    ),
    retrieve=extend_schema(summary="One section by its stable key", tags=["versions"], parameters=[SLUG, NUMBER, KEY]),
    create=extend_schema(
        summary="Add a section to a draft version, as the last child of `parent` (secretariat, consultants)",
        description=SECTION_WRITES,
        tags=["versions"],
        parameters=[SLUG, NUMBER],
        request=SectionAddSerializer,
        responses={201: SectionSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a section of a draft version: heading, number, text (secretariat, consultants)",
        description=SECTION_WRITES,
        tags=["versions"],
        parameters=[SLUG, NUMBER, KEY],
        request=SectionUpdateSerializer,
        responses={200: SectionSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a section of a draft version with its subsections (secretariat, consultants)",
        description=SECTION_WRITES,
        tags=["versions"],
        parameters=[SLUG, NUMBER, KEY],
        request=None,
        responses={204: None},
    ),
)
class SectionViewSet(mixins.ListModelMixin, ApiViewSet):
    lookup_url_kwarg = "key"
    lookup_value_converter = "str"
    serializer_class = SectionSerializer
    queryset = Section.objects.none()
    filterset_class = SectionFilter
    pagination_class = PositionCursorPagination
    ordering_fields = ["position"]
    ordering = ["position"]
    rule_permissions = {
        "create": "consultations.manage_versions",
        "partial_update": "consultations.manage_versions",
        "destroy": "consultations.manage_versions",
    }

    def _version(self):
        consultation = consultation_or_404(self.request, self.kwargs["slug"])
        return get_version_for_user(user=self.request.user, consultation=consultation, number=self.kwargs["number"])

    def scoped_queryset(self):
        return self._version().sections.annotate(parent_key=F("parent__key"))

    def _writable_version(self) -> DraftVersion:
        """The version if the caller sees it (else 404) and may prepare versions (else 403)."""
        consultation = consultation_or_404(self.request, self.kwargs["slug"])
        version = get_version_for_user(user=self.request.user, consultation=consultation, number=self.kwargs["number"])
        check(self, self.request, consultation)
        version.consultation = consultation  # the services read it; spare the query
        return version

    def _section_of(self, version: DraftVersion, key: str) -> Section:
        section = version.sections.filter(key=key).first()
        if section is None:
            raise Http404
        section.version = version
        return section

    def _section_response(self, version: DraftVersion, section: Section, *, status_code=status.HTTP_200_OK):
        fresh = version.sections.annotate(parent_key=F("parent__key")).get(pk=section.pk)
        return Response(SectionSerializer(fresh).data, status=status_code)

    def retrieve(self, request, slug, number, key):
        section = self.get_queryset().filter(key=key).first()
        if section is None:
            raise Http404
        return Response(SectionSerializer(section).data)

    def create(self, request, slug, number):
        version = self._writable_version()
        serializer = SectionAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        parent = None
        if data["parent"]:
            parent = version.sections.filter(key=data["parent"]).first()
            if parent is None:
                raise ValidationError(
                    {"parent": _("Version %(number)s has no section with this key.") % {"number": version.number}}
                )
        section = services.section_add(
            actor=request.user,
            version=version,
            parent=parent,
            heading=data["heading"],
            number=data["number"],
            body=data["body"],
        )
        return self._section_response(version, section, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request, slug, number, key):
        version = self._writable_version()
        section = self._section_of(version, key)
        serializer = SectionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        section = services.section_update(
            actor=request.user,
            section=section,
            heading=data.get("heading", section.heading),
            body=data.get("body", section.body),
            number=data.get("number", section.number),
        )
        return self._section_response(version, section)

    def destroy(self, request, slug, number, key):
        version = self._writable_version()
        services.section_delete(actor=request.user, section=self._section_of(version, key))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- participants and invitations ---------------------------------------------------------------


class OrganiserListViewSet(mixins.ListModelMixin, ApiViewSet):
    """Lists of one consultation for its organisers only (the participants page's rule)."""

    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"list": "consultations.invite_participants", "create": "consultations.invite_participants"}

    def scoped_consultation(self) -> Consultation:
        consultation = consultation_or_404(self.request, self.kwargs["slug"])
        check(self, self.request, consultation)
        return consultation


@extend_schema_view(
    list=extend_schema(
        summary="People taking part: organisation, name, e-mail, role, focal point (secretariat)",
        tags=["participants"],
        parameters=[SLUG],
    ),
)
class ParticipantViewSet(OrganiserListViewSet):
    serializer_class = ParticipantSerializer
    queryset = Participation.objects.none()

    def scoped_queryset(self):
        return participants_of(consultation=self.scoped_consultation())


@extend_schema_view(
    list=extend_schema(
        summary="Invitations not yet accepted nor expired (secretariat)", tags=["participants"], parameters=[SLUG]
    ),
    create=extend_schema(
        summary="Invite an e-mail address for an organisation, with a role (secretariat)",
        description="The invitation is e-mailed with its link; the token never appears in the API.",
        tags=["participants"],
        parameters=[SLUG],
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer},
    ),
)
class InvitationViewSet(OrganiserListViewSet):
    serializer_class = InvitationSerializer
    queryset = Invitation.objects.none()

    def scoped_queryset(self):
        return manage_selectors.pending_invitations(consultation=self.scoped_consultation())

    def create(self, request, slug):
        consultation = self.scoped_consultation()
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organisation = Organisation.objects.filter(pk=data["organisation"]).first()
        if organisation is None:
            raise ValidationError({"organisation": _("There is no organisation with this id.")})
        invitation = services.invitation_create(
            actor=request.user,
            consultation=consultation,
            email=data["email"],
            organisation=organisation,
            role=data["role"],
            is_focal_point=data["is_focal_point"],
        )
        fresh = Invitation.objects.select_related("organisation", "invited_by").get(pk=invitation.pk)
        return Response(InvitationSerializer(fresh).data, status=status.HTTP_201_CREATED)
