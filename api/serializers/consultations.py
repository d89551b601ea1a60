"""Consultations, phases, rounds, versions and sections as the API shows and accepts them.

Serializers only shape data: every write goes through consultations.services.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consultations.models import Consultation, DraftVersion, EngagementRound, Phase, Role, Section


class ConsultationSerializer(serializers.ModelSerializer):
    open_round_count = serializers.IntegerField(read_only=True)
    version_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Consultation
        fields = ["id", "slug", "title", "description", "created_at", "open_round_count", "version_count"]
        read_only_fields = fields


class PhaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Phase
        fields = ["id", "name", "starts_on", "ends_on", "position"]
        read_only_fields = fields


class ExtensionSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    closes_at = serializers.DateTimeField(read_only=True)


class RoundSerializer(serializers.ModelSerializer):
    consultation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.CharField(source="version.number", read_only=True)
    state = serializers.SerializerMethodField(help_text="The state at this instant (the clock counts, not only beat).")
    commenting_roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), read_only=True)
    extensions = ExtensionSerializer(many=True, read_only=True)

    class Meta:
        model = EngagementRound
        fields = [
            "id",
            "consultation",
            "version",
            "title",
            "opens_at",
            "closes_at",
            "final_closes_at",
            "commenting_roles",
            "visibility",
            "state",
            "opened_at",
            "closed_at",
            "extensions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=EngagementRound.State.choices))
    def get_state(self, obj: EngagementRound) -> str:
        return str(obj.phase_at(timezone.now()))


class RoundCreateSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=20, help_text="Number of a published version, e.g. 0.2.")
    title = serializers.CharField(max_length=200)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    commenting_roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), min_length=1)
    visibility = serializers.ChoiceField(choices=EngagementRound.Visibility.choices)


class RoundRescheduleSerializer(serializers.Serializer):
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()


class RoundExtendSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Organisation id.")
    closes_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class VersionSerializer(serializers.ModelSerializer):
    section_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = DraftVersion
        fields = ["id", "number", "title", "change_summary", "status", "published_at", "created_at", "section_count"]
        read_only_fields = fields


class SectionSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(
        source="parent_key", read_only=True, allow_null=True, help_text="Key of the parent section; null at the top."
    )

    class Meta:
        model = Section
        fields = ["key", "parent", "depth", "kind", "number", "heading", "body", "position"]
        read_only_fields = fields
