"""Consultations, phases, rounds, versions and sections as the API shows and accepts them.

Serializers only shape data: every write goes through consultations.services.
"""

from typing import cast

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consolidation.selectors_runs import ROUND_PHASE_CHOICES, round_phase, round_stages
from consultations.models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Invitation,
    Participation,
    Phase,
    Role,
    Section,
)
from consultations.services import SECTION_BODY_MAX


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


class PhaseCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()


class ExtensionSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    closes_at = serializers.DateTimeField(read_only=True)


class RoundListSerializer(serializers.ListSerializer):
    """Rounds in a list: the closed ones' stages are read for all of them in one query."""

    def to_representation(self, data):
        rounds = list(data.all() if hasattr(data, "all") else data)
        now = timezone.now()
        closed = [r for r in rounds if r.phase_at(now) == EngagementRound.State.CLOSED]
        # The root serializer's context is a dict (DRF); the stubs type it as a read-only Mapping.
        cast(dict, self.context)["round_stages"] = round_stages(rounds=closed) if closed else {}
        return super().to_representation(rounds)


class RoundSerializer(serializers.ModelSerializer):
    consultation: "serializers.SlugRelatedField[Consultation]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    version = serializers.CharField(source="version.number", read_only=True)
    state = serializers.SerializerMethodField(help_text="The state at this instant (the clock counts, not only beat).")
    commenting_roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), read_only=True)
    extensions = ExtensionSerializer(many=True, read_only=True)

    class Meta:
        model = EngagementRound
        list_serializer_class = RoundListSerializer
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

    @extend_schema_field(serializers.ChoiceField(choices=ROUND_PHASE_CHOICES))
    def get_state(self, obj: EngagementRound) -> str:
        stages = self.context.get("round_stages")
        if stages is None:  # one round on its own
            return str(round_phase(engagement_round=obj, now=timezone.now()))
        phase = obj.phase_at(timezone.now())
        return stages.get(obj.pk, phase) if phase == EngagementRound.State.CLOSED else phase


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
    parent = serializers.CharField(  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
        source="parent_key", read_only=True, allow_null=True, help_text="Key of the parent section; null at the top."
    )

    class Meta:
        model = Section
        fields = ["key", "parent", "depth", "kind", "number", "heading", "body", "position"]
        read_only_fields = fields


# --- preparing versions: upload, sections typed in, copy; editing a draft's sections ---------

VERSION_NUMBER_HELP = "Like 0.1, 0.2 or 1.0; it must come after the last published version."
SECTION_TREE_MAX_DEPTH = 10


class SectionDraftSerializer(serializers.Serializer):
    """One section of a new version, with its subsections (components > chapters > clauses)."""

    heading = serializers.CharField(max_length=300)
    number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    body = serializers.CharField(
        max_length=SECTION_BODY_MAX, required=False, allow_blank=True, default="", trim_whitespace=False
    )

    def get_fields(self):
        # Built on demand: the tree is recursive (the schema names it once and refers to it).
        fields = super().get_fields()
        fields["children"] = SectionDraftSerializer(
            many=True, required=False, default=list, help_text="Subsections, in document order."
        )
        return fields


def _tree_depth(nodes: list[dict]) -> int:
    return 1 + max((_tree_depth(node["children"]) for node in nodes if node.get("children")), default=0)


class VersionCreateSerializer(serializers.Serializer):
    """A new draft version typed in as a section tree (application/json)."""

    number = serializers.CharField(max_length=20, help_text=VERSION_NUMBER_HELP)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    change_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    sections = SectionDraftSerializer(many=True, help_text="Top-level sections (components) with their children.")

    def validate_sections(self, value):
        if value and _tree_depth(value) > SECTION_TREE_MAX_DEPTH:
            raise serializers.ValidationError(
                f"Sections nest at most {SECTION_TREE_MAX_DEPTH} levels deep (components, chapters, clauses)."
            )
        return value


class VersionUploadSerializer(serializers.Serializer):
    """A new draft version from a document (multipart/form-data)."""

    number = serializers.CharField(max_length=20, help_text=VERSION_NUMBER_HELP)
    file = serializers.FileField(
        help_text="A Word document (.docx) or a Markdown file (.md). Its headings become the sections."
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    change_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class VersionCopySerializer(serializers.Serializer):
    number = serializers.CharField(max_length=20, help_text="The new version's number. " + VERSION_NUMBER_HELP)
    change_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class SectionUpdateSerializer(serializers.Serializer):
    """PATCH: the fields sent change, the others keep their value."""

    heading = serializers.CharField(max_length=300, required=False)
    number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    body = serializers.CharField(max_length=SECTION_BODY_MAX, required=False, allow_blank=True, trim_whitespace=False)


class SectionAddSerializer(serializers.Serializer):
    parent = serializers.CharField(  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Key of the section to add under (as its last child); null or absent: a new top-level component.",
    )
    heading = serializers.CharField(max_length=300)
    number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    body = serializers.CharField(
        max_length=SECTION_BODY_MAX, required=False, allow_blank=True, default="", trim_whitespace=False
    )


# --- participants and invitations -------------------------------------------------------------


class ParticipantSerializer(serializers.ModelSerializer):
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    user = serializers.IntegerField(source="user_id", read_only=True)
    name = serializers.CharField(source="user.full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Participation
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "user",
            "name",
            "email",
            "role",
            "is_focal_point",
            "joined_at",
        ]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    """A pending invitation; its token only ever travels in the e-mail to the invitee."""

    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    invited_by = serializers.CharField(source="invited_by.email", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "organisation",
            "organisation_name",
            "role",
            "is_focal_point",
            "invited_by",
            "created_at",
            "expires_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    organisation = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Organisation id.")
    role = serializers.ChoiceField(choices=Role.choices, help_text="It must match the kind of organisation.")
    is_focal_point = serializers.BooleanField(
        required=False, default=False, help_text="Member states only: endorses comments into the national position."
    )
