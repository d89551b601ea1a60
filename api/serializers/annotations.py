"""The W3C Web Annotation shapes of /rounds/{id}/annotations/, described for the schema.

The view builds plain dicts (api.views.annotations); these serializers document them.
"""

from rest_framework import serializers

from .comments import SelectorListField

MOTIVATIONS = [("commenting", "commenting"), ("editing", "editing")]
TEXTUAL_BODY = [("TextualBody", "TextualBody")]
TEXT_PLAIN = [("text/plain", "text/plain")]
PERSON = [("Person", "Person")]
ANNOTATION = [("Annotation", "Annotation")]
ANNOTATION_PAGE = [("AnnotationPage", "AnnotationPage")]
ANNOTATION_COLLECTION = [("AnnotationCollection", "AnnotationCollection")]


def _Const(choices):  # noqa: N802 - reads like a field class
    return serializers.ChoiceField(choices=choices)


class TextualBodySerializer(serializers.Serializer):
    type = _Const(TEXTUAL_BODY)
    value = serializers.CharField()
    format = _Const(TEXT_PLAIN)
    language = serializers.CharField(required=False)
    purpose = serializers.ChoiceField(choices=MOTIVATIONS)


class AnnotationTargetSerializer(serializers.Serializer):
    source = serializers.URLField(help_text="Absolute URL of the section page.")  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    selector = SelectorListField(required=False)


class CreatorSerializer(serializers.Serializer):
    type = _Const(PERSON)
    name = serializers.CharField()


class AnnotationSerializer(serializers.Serializer):
    id = serializers.URLField()
    type = _Const(ANNOTATION)
    motivation = serializers.ChoiceField(choices=MOTIVATIONS)
    body = TextualBodySerializer(many=True)
    target = AnnotationTargetSerializer()
    creator = CreatorSerializer()
    created = serializers.DateTimeField()
    modified = serializers.DateTimeField()


class AnnotationPageSerializer(serializers.Serializer):
    id = serializers.URLField()
    type = _Const(ANNOTATION_PAGE)
    partOf = serializers.URLField(required=False)  # noqa: N815 - the W3C name
    next = serializers.URLField(required=False)
    prev = serializers.URLField(required=False)
    items = AnnotationSerializer(many=True)


class AnnotationCollectionPageSerializer(AnnotationPageSerializer):
    """A page fetched by its cursor: an AnnotationPage with its JSON-LD context."""

    context = serializers.CharField()  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)

    def get_fields(self):
        fields = super().get_fields()
        fields["@context"] = fields.pop("context")
        return fields


class AnnotationCollectionSerializer(serializers.Serializer):
    context = serializers.CharField()  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    id = serializers.URLField()
    type = _Const(ANNOTATION_COLLECTION)
    label = serializers.CharField()  # type: ignore[assignment]  # a serializer field named like a Field attribute (stubs)
    total = serializers.IntegerField()
    first = AnnotationPageSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["@context"] = fields.pop("context")
        return fields
