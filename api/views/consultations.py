"""Consultations, phases, rounds, versions and sections.

Reads go through consultations.selectors (404 outside the caller's scope), writes through
consultations.services; the rules asked are the pages' own (consultations.rules).
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation
from api.pagination import PositionCursorPagination
from api.permissions import check
from api.serializers.consultations import (
    ConsultationSerializer,
    PhaseSerializer,
    RoundCreateSerializer,
    RoundExtendSerializer,
    RoundRescheduleSerializer,
    RoundSerializer,
    SectionSerializer,
    VersionSerializer,
)
from consultations import services
from consultations.models import Consultation, DraftVersion, EngagementRound, Phase, Section
from consultations.selectors import (
    consultations_for_user,
    get_version_for_user,
    rounds_for_consultation,
    versions_visible_to,
)

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
    ordering_fields = ["id"]
    ordering = ["-id"]

    def scoped_queryset(self):
        return consultations_for_user(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="The consultation's timeline", tags=["consultations"], parameters=[SLUG])
)
class PhaseViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = PhaseSerializer
    queryset = Phase.objects.none()
    ordering_fields = ["id"]
    ordering = ["id"]

    def scoped_queryset(self):
        return consultation_or_404(self.request, self.kwargs["slug"]).phases.all()


class RoundFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=EngagementRound.State.choices)

    class Meta:
        model = EngagementRound
        fields = ["state"]


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


@extend_schema_view(
    list=extend_schema(
        summary="Versions of the draft (drafts in preparation only for those who prepare them)",
        tags=["versions"],
        parameters=[SLUG],
    ),
    retrieve=extend_schema(summary="One version", tags=["versions"], parameters=[SLUG, NUMBER]),
)
class VersionViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = VersionSerializer
    queryset = DraftVersion.objects.none()
    filterset_class = VersionFilter
    ordering_fields = ["id"]
    ordering = ["id"]

    def scoped_queryset(self):
        consultation = consultation_or_404(self.request, self.kwargs["slug"])
        return versions_visible_to(user=self.request.user, consultation=consultation)

    def retrieve(self, request, slug, number):
        consultation = consultation_or_404(request, slug)
        version = get_version_for_user(user=request.user, consultation=consultation, number=number)
        return Response(VersionSerializer(version).data)


class SectionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Section.Kind.choices)
    parent = django_filters.CharFilter(field_name="parent__key", help_text="Children of the section with this key.")

    class Meta:
        model = Section
        fields = ["kind", "parent"]


@extend_schema_view(
    list=extend_schema(
        summary="Sections of a version, in document order (flat; parent/depth give the tree)",
        tags=["versions"],
        parameters=[SLUG, NUMBER],
    ),
    retrieve=extend_schema(summary="One section by its stable key", tags=["versions"], parameters=[SLUG, NUMBER, KEY]),
)
class SectionViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = SectionSerializer
    queryset = Section.objects.none()
    filterset_class = SectionFilter
    pagination_class = PositionCursorPagination
    ordering_fields = ["position"]
    ordering = ["position"]

    def _version(self):
        consultation = consultation_or_404(self.request, self.kwargs["slug"])
        return get_version_for_user(user=self.request.user, consultation=consultation, number=self.kwargs["number"])

    def scoped_queryset(self):
        return self._version().sections.annotate(parent_key=F("parent__key"))

    def retrieve(self, request, slug, number, key):
        section = self.get_queryset().filter(key=key).first()
        if section is None:
            raise Http404
        return Response(SectionSerializer(section).data)
