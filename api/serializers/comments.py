"""Comments, replies, flags and national positions as the API shows and accepts them.

Anchors travel as W3C Web Annotation selectors: `target: {source: <section key>, selector:
[TextQuoteSelector, TextPositionSelector]}`. The serializers only parse and shape; the
services check the quote against the section text and every other rule.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from api.etags import etag_for
from comments.models import BODY_MAX_LENGTH, Comment, Reply
from comments.services import AnchorInput
from consolidation.selectors_feedback import FeedbackItem

TEXT_MAX = BODY_MAX_LENGTH


TEXT_QUOTE_SELECTOR = [("TextQuoteSelector", "TextQuoteSelector")]
TEXT_POSITION_SELECTOR = [("TextPositionSelector", "TextPositionSelector")]


class TextQuoteSelectorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TEXT_QUOTE_SELECTOR)
    exact = serializers.CharField(max_length=TEXT_MAX, trim_whitespace=False)
    prefix = serializers.CharField(max_length=1000, trim_whitespace=False, allow_blank=True, required=False)
    suffix = serializers.CharField(max_length=1000, trim_whitespace=False, allow_blank=True, required=False)


class TextPositionSelectorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TEXT_POSITION_SELECTOR)
    start = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    end = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


SELECTORS = {
    "TextQuoteSelector": TextQuoteSelectorSerializer,
    "TextPositionSelector": TextPositionSelectorSerializer,
}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="Selector",
        serializers={
            "TextQuoteSelector": TextQuoteSelectorSerializer,
            "TextPositionSelector": TextPositionSelectorSerializer,
        },
        resource_type_field_name="type",
        many=True,
    )
)
class SelectorListField(serializers.ListField):
    """A list of selectors, each parsed by the serializer its `type` names."""

    child = serializers.DictField()

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        items = super().to_internal_value(data)
        parsed = []
        for index, item in enumerate(items):
            # `type` arrives as any JSON value ({}, [], 7): only a known name picks a serializer.
            kind = item.get("type")
            serializer_class = SELECTORS.get(kind) if isinstance(kind, str) else None
            if serializer_class is None:
                raise serializers.ValidationError(
                    {str(index): [_("Each selector is a TextQuoteSelector or a TextPositionSelector.")]}
                )
            serializer = serializer_class(data=item)
            if not serializer.is_valid():
                raise serializers.ValidationError({str(index): serializer.errors})
            parsed.append(serializer.validated_data)
        return parsed


class TargetSerializer(serializers.Serializer):
    """What a comment addresses: a section, and a passage of its text when anchored."""

    source = serializers.CharField(read_only=True, help_text="The section's stable key.")  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    # Not read_only: read-only fields count as always present in the response schema.
    selector = SelectorListField(required=False, help_text="Absent when the comment addresses the whole section.")


class TargetInputSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64, required=False, help_text="The section's stable key (optional).")  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    selector = SelectorListField(
        min_length=1, help_text="One TextQuoteSelector, and optionally one TextPositionSelector."
    )

    def validate(self, attrs):
        selectors = attrs["selector"]
        quotes = [s for s in selectors if s["type"] == "TextQuoteSelector"]
        positions = [s for s in selectors if s["type"] == "TextPositionSelector"]
        if len(quotes) != 1 or len(positions) > 1:
            raise serializers.ValidationError(
                {"selector": [_("Give one TextQuoteSelector, and at most one TextPositionSelector.")]}
            )
        quote = quotes[0]
        position = positions[0] if positions else {}
        attrs["anchor"] = AnchorInput(
            exact=quote["exact"],
            prefix=quote.get("prefix", ""),
            suffix=quote.get("suffix", ""),
            start=position.get("start"),
            end=position.get("end"),
        )
        return attrs


def target_of(comment: Comment | FeedbackItem) -> dict:
    """The W3C Web Annotation target of a comment (or of its read model on the feedback list)."""
    target: dict = {"source": comment.section.key}
    if comment.is_anchored:
        target["selector"] = [
            {
                "type": "TextQuoteSelector",
                "exact": comment.quote_exact,
                "prefix": comment.quote_prefix,
                "suffix": comment.quote_suffix,
            },
            {"type": "TextPositionSelector", "start": comment.position_start, "end": comment.position_end},
        ]
    return target


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)


class OrganisationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    short_name = serializers.CharField(read_only=True)


def supporters_data(comment: Comment) -> list[dict]:
    """The other delegations supporting the comment, by name (comment.supports, prefetched for lists)."""
    prefetched = "supports" in getattr(comment, "_prefetched_objects_cache", {})
    found = comment.supports.all() if prefetched else comment.supports.select_related("organisation")
    supports = sorted(found, key=lambda s: (s.organisation.name, s.organisation_id))
    return [
        {"id": s.organisation_id, "name": s.organisation.name, "short_name": s.organisation.short_name}
        for s in supports
    ]


class CommentSerializer(serializers.ModelSerializer):
    section = serializers.CharField(source="section.key", read_only=True, help_text="The section's stable key.")
    section_number = serializers.CharField(source="section.number", read_only=True)
    author = PersonSerializer(read_only=True)
    organisation = OrganisationSerializer(read_only=True)
    target = serializers.SerializerMethodField()
    supported_by = serializers.SerializerMethodField(
        help_text="The other delegations that support the comment (co-sponsorship), by name."
    )
    resolved_by = PersonSerializer(read_only=True, allow_null=True)
    mentions = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        allow_null=True,
        help_text="The people the text names (@handle) who could see the thread: {handle: name}.",
    )
    etag = serializers.SerializerMethodField(help_text="Send it back in If-Match to change the comment.")

    class Meta:
        model = Comment
        fields = [
            "id",
            "round",
            "section",
            "section_number",
            "author",
            "organisation",
            "type",
            "status",
            "body",
            "proposed_change",
            "is_suggestion",
            "language",
            "target",
            "is_endorsed",
            "endorsed_at",
            "is_hidden",
            "hidden_reason",
            "supported_by",
            "resolved_at",
            "resolved_by",
            "mentions",
            "revision",
            "etag",
            "created_at",
            "updated_at",
            "submitted_at",
            "withdrawn_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TargetSerializer)
    def get_target(self, obj: Comment) -> dict:
        return target_of(obj)

    @extend_schema_field(OrganisationSerializer(many=True))
    def get_supported_by(self, obj: Comment) -> list[dict]:
        return supporters_data(obj)

    def get_etag(self, obj: Comment) -> str:
        return etag_for(obj)


# One DRF field for every date: the same format and time zone as CommentSerializer's.
_DATETIME = serializers.DateTimeField()


def _when(value):
    return None if value is None else _DATETIME.to_representation(value)


def comment_data(comment: Comment) -> dict:
    """CommentSerializer(comment).data built directly, for the comment list's rows.

    DRF's generic serializer spent about a millisecond a row (half of a page of 50) walking its
    fields; this writes the same keys in the same order with the same values (dates through DRF's
    own DateTimeField, so the format and the viewer's time zone are the same).
    tests/api/test_comment_list.py holds the two equal; CommentSerializer stays the schema.
    """
    author, organisation, section = comment.author, comment.organisation, comment.section
    return {
        "id": comment.pk,
        "round": comment.round_id,
        "section": section.key,
        "section_number": section.number,
        "author": {"id": author.pk, "name": author.get_full_name()},
        "organisation": {"id": organisation.pk, "name": organisation.name, "short_name": organisation.short_name},
        "type": comment.type,
        "status": comment.status,
        "body": comment.body,
        "proposed_change": comment.proposed_change,
        "is_suggestion": comment.is_suggestion,
        "language": comment.language,
        "target": target_of(comment),
        "is_endorsed": comment.is_endorsed,
        "endorsed_at": _when(comment.endorsed_at),
        "is_hidden": comment.is_hidden,
        "hidden_reason": comment.hidden_reason,
        "supported_by": supporters_data(comment),
        "resolved_at": _when(comment.resolved_at),
        "resolved_by": None
        if (resolver := comment.resolved_by) is None
        else {"id": resolver.pk, "name": resolver.get_full_name()},
        "mentions": comment.mentions,
        "revision": comment.revision,
        "etag": etag_for(comment),
        "created_at": _when(comment.created_at),
        "updated_at": _when(comment.updated_at),
        "submitted_at": _when(comment.submitted_at),
        "withdrawn_at": _when(comment.withdrawn_at),
    }


class CommentCreateSerializer(serializers.Serializer):
    section = serializers.CharField(max_length=64, help_text="Key of a section of the version under review.")
    type = serializers.ChoiceField(choices=Comment.Type.choices)
    body = serializers.CharField(max_length=TEXT_MAX, trim_whitespace=False)
    proposed_change = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
    is_suggestion = serializers.BooleanField(
        default=False, help_text="proposed_change is the target's passage as edited (shown as a redline)."
    )
    language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    target = TargetInputSerializer(required=False, allow_null=True)
    submit = serializers.BooleanField(default=False, help_text="Submit at once instead of saving a draft.")

    def validate(self, attrs):
        target = attrs.get("target")
        if target and target.get("source") not in (None, attrs["section"]):
            raise serializers.ValidationError({"target": ["target.source must be the comment's section key."]})
        return attrs


class CommentUpdateSerializer(serializers.Serializer):
    """PATCH: fields left out keep their value; `target: null` removes the anchor."""

    type = serializers.ChoiceField(choices=Comment.Type.choices, required=False)
    body = serializers.CharField(max_length=TEXT_MAX, trim_whitespace=False, required=False)
    proposed_change = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    is_suggestion = serializers.BooleanField(required=False)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    target = TargetInputSerializer(required=False, allow_null=True)


class ReplySerializer(serializers.ModelSerializer):
    author = PersonSerializer(read_only=True)
    organisation = OrganisationSerializer(read_only=True)

    class Meta:
        model = Reply
        fields = ["id", "comment", "author", "organisation", "body", "language", "created_at"]
        read_only_fields = fields


class ReplyCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=TEXT_MAX, trim_whitespace=False)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")


class FlagCreateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    comment = serializers.IntegerField(source="comment_id", read_only=True)
    reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class HideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ReturnSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What the author should change; they read it.")


class NationalPositionSerializer(serializers.Serializer):
    round = serializers.IntegerField(read_only=True)
    organisation = OrganisationSerializer(read_only=True)
    submitted = serializers.BooleanField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    submitted_by = PersonSerializer(read_only=True, allow_null=True)
    submitted_endorsed_count = serializers.IntegerField(
        read_only=True, help_text="Endorsed comments in the position when it was last submitted."
    )
    endorsed_count = serializers.IntegerField(read_only=True, help_text="Submitted comments endorsed now.")
    note = serializers.CharField(read_only=True)


class NationalPositionSubmitSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
