"""A round's visible comments as a W3C Web Annotation collection (JSON-LD).

GET /api/v1/rounds/{id}/annotations/ answers with an AnnotationCollection whose `first`
page is embedded; `first.next` leads to the following AnnotationPage (cursor pagination).
Each comment is an Annotation: motivation commenting (editing when it proposes a change),
TextualBody bodies, and a target on the section page with the stored selectors.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.pagination import IdCursorPagination
from api.serializers.annotations import AnnotationCollectionPageSerializer, AnnotationCollectionSerializer
from api.serializers.comments import target_of
from comments import selectors
from comments.models import Comment

from .base import ApiViewSet, round_or_404

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"


class AnnotationRenderer(JSONRenderer):
    # Negotiated as application/ld+json; the response names the profile (see retrieve).
    media_type = "application/ld+json"
    format = "jsonld"


def annotation(request, comment: Comment, section_url: str) -> dict:
    target: dict = {"source": section_url}
    selector = target_of(comment).get("selector")
    if selector:
        target["selector"] = selector

    def textual(value: str, purpose: str) -> dict:
        body = {"type": "TextualBody", "value": value, "format": "text/plain", "purpose": purpose}
        if comment.language:
            body["language"] = comment.language
        return body

    bodies = [textual(comment.body, "commenting")]
    if comment.proposed_change:
        bodies.append(textual(comment.proposed_change, "editing"))
    return {
        "id": request.build_absolute_uri(reverse("api:comment-detail", args=[comment.pk])),
        "type": "Annotation",
        "motivation": "editing" if comment.proposed_change else "commenting",
        "body": bodies,
        "target": target,
        "creator": {"type": "Person", "name": comment.author.get_full_name()},
        "created": comment.created_at.isoformat(),
        "modified": comment.updated_at.isoformat(),
    }


class AnnotationViewSet(ApiViewSet):
    renderer_classes = [AnnotationRenderer, JSONRenderer]
    pagination_class = IdCursorPagination
    queryset = Comment.objects.none()  # the schema's model; reads use the visibility selector
    filter_backends: list = []

    @extend_schema(
        summary="The round's visible comments as a W3C Web Annotation collection",
        tags=["interoperability"],
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="Round id."),
            OpenApiParameter("cursor", str, OpenApiParameter.QUERY, description="A page's cursor (from `next`)."),
            OpenApiParameter("page_size", int, OpenApiParameter.QUERY, description="Annotations per page."),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="AnnotationCollectionOrPage",
                serializers=[AnnotationCollectionSerializer, AnnotationCollectionPageSerializer],
                resource_type_field_name=None,
            )
        },
    )
    def retrieve(self, request, pk):
        engagement_round = round_or_404(request, pk)
        comments = (
            selectors.comments_visible_to(user=request.user, engagement_round=engagement_round)
            .select_related("section", "author")
            .order_by("id")
        )
        slug, number = engagement_round.consultation.slug, engagement_round.version.number
        section_urls: dict[str, str] = {}

        def section_url(key: str) -> str:
            if key not in section_urls:
                path = reverse("comments:section", args=[slug, number, key])
                section_urls[key] = request.build_absolute_uri(path)
            return section_urls[key]

        paginator = self.paginator
        if not isinstance(paginator, IdCursorPagination):
            raise ImproperlyConfigured("The annotation collection pages with IdCursorPagination.")
        page = paginator.paginate_queryset(comments, request, view=self)
        if page is None:  # only when there is no page size at all
            raise ImproperlyConfigured("API_PAGE_SIZE must be a positive number.")
        collection_id = request.build_absolute_uri(request.path)
        items = [annotation(request, c, section_url(c.section.key)) for c in page]
        page_body: dict = {
            "id": request.build_absolute_uri(),
            "type": "AnnotationPage",
            "partOf": collection_id,
        }
        next_link, previous_link = paginator.get_next_link(), paginator.get_previous_link()
        if next_link:
            page_body["next"] = next_link
        if previous_link:
            page_body["prev"] = previous_link
        page_body["items"] = items
        content_type = None
        if isinstance(request.accepted_renderer, AnnotationRenderer):
            content_type = f'{AnnotationRenderer.media_type}; profile="{ANNO_CONTEXT}"'
        if request.query_params.get(paginator.cursor_query_param):
            return Response({"@context": ANNO_CONTEXT, **page_body}, content_type=content_type)
        return Response(
            {
                "@context": ANNO_CONTEXT,
                "id": collection_id,
                "type": "AnnotationCollection",
                "label": engagement_round.title,
                "total": comments.count(),
                "first": page_body,
            },
            content_type=content_type,
        )
