"""Comments, replies, flags, endorsement, moderation and national positions.

Reads go through comments.selectors, so anything the caller may not see is a 404. Writes go
through comments.services. Changes to a comment need If-Match with its ETag (api.etags).
"""

from __future__ import annotations

import django_filters
import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.etags import etag_for, expected_revision
from api.permissions import check
from api.serializers.comments import (
    CommentCreateSerializer,
    CommentSerializer,
    CommentUpdateSerializer,
    FlagCreateSerializer,
    FlagSerializer,
    HideSerializer,
    NationalPositionSerializer,
    NationalPositionSubmitSerializer,
    ReplyCreateSerializer,
    ReplySerializer,
    ReturnSerializer,
    comment_data,
)
from comments import selectors, services
from comments.models import Comment, CommentSupport, NationalPosition, Reply
from consultations.models import Section
from consultations.rules import participation_for

from .base import ApiViewSet, comment_or_404, round_or_404

ROUND_ID = OpenApiParameter("round_id", int, OpenApiParameter.PATH, description="Round id.")
COMMENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Comment id.")
COMMENT_PK = OpenApiParameter("comment_id", int, OpenApiParameter.PATH, description="Comment id.")
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The comment\'s ETag as last read, e.g. "12-3" (strong; a weak tag never matches).',
)
ETAG = OpenApiParameter(
    "ETag", str, OpenApiParameter.HEADER, response=[200, 201], description='"<comment id>-<revision>" (strong).'
)


def comment_response(comment: Comment, *, status_code=status.HTTP_200_OK, headers=None) -> Response:
    response = Response(CommentSerializer(comment).data, status=status_code, headers=headers)
    response["ETag"] = etag_for(comment)
    return response


class CommentFilter(django_filters.FilterSet):
    section = django_filters.CharFilter(method="filter_section", help_text="Section key.")
    organisation = django_filters.NumberFilter(field_name="organisation_id", help_text="Organisation id.")
    type = django_filters.ChoiceFilter(choices=Comment.Type.choices)
    status = django_filters.ChoiceFilter(choices=Comment.Status.choices)
    endorsed = django_filters.BooleanFilter(field_name="is_endorsed", help_text="In the national position.")

    class Meta:
        model = Comment
        fields = ["section", "organisation", "type", "status", "endorsed"]

    def filter_section(self, queryset, name, value):
        """The comments on the section `value` of the round's version, by the section's id.

        The id is read first (one query) so that PostgreSQL plans the page with it: it then walks
        the comments in id order and stops after a page, however many the section holds. Filtered
        through a join on the key, it read and sorted every comment of the section for each page.
        """
        round_id = self.request.parser_context["kwargs"]["round_id"]
        sections = Section.objects.filter(version__rounds=round_id, key=value).order_by()  # one at most
        section_id = sections.values_list("pk", flat=True).first()
        return queryset.filter(section_id=section_id) if section_id is not None else queryset.none()


@extend_schema_view(
    list=extend_schema(summary="Comments of a round the caller may see", tags=["comments"], parameters=[ROUND_ID]),
    create=extend_schema(
        summary="Write a comment, as a draft or submitted",
        tags=["comments"],
        parameters=[ROUND_ID, ETAG],
        request=CommentCreateSerializer,
        responses={201: CommentSerializer},
    ),
)
class RoundCommentViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = CommentSerializer
    queryset = Comment.objects.none()
    filterset_class = CommentFilter
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"create": "comments.add_comment"}

    def scoped_queryset(self):
        engagement_round = round_or_404(self.request, self.kwargs["round_id"])
        return (
            selectors.comments_visible_to(user=self.request.user, engagement_round=engagement_round)
            .select_related("section", "author", "organisation", "resolved_by")
            .prefetch_related(Prefetch("supports", queryset=CommentSupport.objects.select_related("organisation")))
            # Not the section's text (the same for every row of a page) nor the author's password hash.
            .defer("section__body", "author__password", "resolved_by__password")
        )

    def list(self, request, round_id):
        """ListModelMixin.list with the rows built by comment_data (CommentSerializer's, faster)."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is None:  # no paginator configured
            return Response([comment_data(comment) for comment in queryset])
        return self.get_paginated_response([comment_data(comment) for comment in page])

    def create(self, request, round_id):
        engagement_round = round_or_404(request, round_id)
        check(self, request, engagement_round)
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        section = Section.objects.filter(version_id=engagement_round.version_id, key=data["section"]).first()
        if section is None:
            raise ValidationError({"section": _("The version under review has no section with this key.")})
        target = data.get("target")
        comment = services.comment_create(
            actor=request.user,
            engagement_round=engagement_round,
            section=section,
            comment_type=data["type"],
            body=data["body"],
            proposed_change=data["proposed_change"],
            language=data["language"],
            anchor=target["anchor"] if target else None,
            submit=data["submit"],
            is_suggestion=data["is_suggestion"],
        )
        location = reverse("api:comment-detail", args=[comment.pk])
        return comment_response(comment, status_code=status.HTTP_201_CREATED, headers={"Location": location})


@extend_schema_view(
    retrieve=extend_schema(summary="One comment", tags=["comments"], parameters=[COMMENT_ID, ETAG]),
    partial_update=extend_schema(
        summary="Edit a comment (author; round open)",
        tags=["comments"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=CommentUpdateSerializer,
        responses={200: CommentSerializer},
    ),
    submit=extend_schema(
        summary="Submit a draft (author)",
        tags=["comments"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=None,
        responses={200: CommentSerializer},
    ),
    withdraw=extend_schema(
        summary="Withdraw a comment (author)",
        tags=["comments"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=None,
        responses={200: CommentSerializer},
    ),
    endorsement=extend_schema(
        summary="Put a submitted comment into the national position (POST) or take it out (DELETE); focal point",
        tags=["national positions"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=None,
        responses={200: CommentSerializer},
    ),
    send_back=extend_schema(
        summary="Send a colleague's submitted comment back to its author as a draft, with a note; focal point",
        tags=["national positions"],
        parameters=[COMMENT_ID, IF_MATCH, ETAG],
        request=ReturnSerializer,
        responses={200: CommentSerializer},
    ),
    hide=extend_schema(
        summary="Hide a comment from other participants (secretariat)",
        tags=["moderation"],
        parameters=[COMMENT_ID, ETAG],
        request=HideSerializer,
        responses={200: CommentSerializer},
    ),
    unhide=extend_schema(
        summary="Show a hidden comment again (secretariat)",
        tags=["moderation"],
        parameters=[COMMENT_ID, ETAG],
        request=None,
        responses={200: CommentSerializer},
    ),
    flags=extend_schema(
        summary="Ask the secretariat to look at a comment",
        tags=["moderation"],
        parameters=[COMMENT_ID],
        request=FlagCreateSerializer,
        responses={201: FlagSerializer},
    ),
    support=extend_schema(
        summary="Your delegation supports another delegation's comment (POST) or withdraws its support (DELETE)",
        tags=["comments"],
        parameters=[COMMENT_ID, ETAG],
        request=None,
        responses={200: CommentSerializer},
    ),
    resolution=extend_schema(
        summary="Mark the thread resolved (POST) or reopen it (DELETE); author, focal point, organisers",
        tags=["comments"],
        parameters=[COMMENT_ID, ETAG],
        request=None,
        responses={200: CommentSerializer},
    ),
)
class CommentViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CommentSerializer
    queryset = Comment.objects.none()  # the schema's model; reads use comment_or_404
    rule_permissions = {
        "partial_update": "comments.change_comment",
        "submit": "comments.change_comment",
        "withdraw": "comments.change_comment",
        "endorsement": "comments.endorse_comment",
        "hide": "comments.moderate_comment",
        "unhide": "comments.moderate_comment",
        "flags": "comments.flag_comment",
        "send_back": "comments.return_comment",
        "support": "comments.support_comment",
        "resolution": "comments.resolve_thread",
    }
    if_match_actions = ("partial_update", "submit", "withdraw", "endorsement", "send_back")

    def get_object(self):
        comment = comment_or_404(self.request, self.kwargs["pk"])
        self.check_object_permissions(self.request, comment)
        return comment

    def retrieve(self, request, pk):
        return comment_response(self.get_object())

    def partial_update(self, request, pk):
        comment = self.get_object()
        expected = expected_revision(request, comment)
        serializer = CommentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        keep_anchor = "target" not in data
        target = data.get("target")
        comment = services.comment_update(
            actor=request.user,
            comment=comment,
            comment_type=data.get("type", comment.type),
            body=data.get("body", comment.body),
            proposed_change=data.get("proposed_change", comment.proposed_change),
            language=data.get("language", comment.language),
            anchor=target["anchor"] if target else None,
            keep_anchor=keep_anchor,
            expected_revision=expected,
            is_suggestion=data.get("is_suggestion"),
        )
        return comment_response(comment)

    @action(detail=True, methods=["post"])
    def submit(self, request, pk):
        comment = self.get_object()
        expected = expected_revision(request, comment)
        return comment_response(
            services.comment_submit(actor=request.user, comment=comment, expected_revision=expected)
        )

    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk):
        comment = self.get_object()
        expected = expected_revision(request, comment)
        return comment_response(
            services.comment_withdraw(actor=request.user, comment=comment, expected_revision=expected)
        )

    @action(detail=True, methods=["post", "delete"])
    def endorsement(self, request, pk):
        comment = self.get_object()
        expected = expected_revision(request, comment)
        comment = services.comment_set_endorsed(
            actor=request.user, comment=comment, endorsed=request.method == "POST", expected_revision=expected
        )
        return comment_response(comment)

    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def send_back(self, request, pk):
        comment = comment_or_404(request, pk)
        # Another delegation's comment is not there for this act (404), whatever the round shows.
        if not selectors.in_own_delegation(user=request.user, comment=comment):
            raise Http404
        self.check_object_permissions(request, comment)
        expected = expected_revision(request, comment)
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        returned = services.comment_return(
            actor=request.user, comment=comment, note=serializer.validated_data["note"], expected_revision=expected
        )
        return comment_response(returned.comment)

    @action(detail=True, methods=["post"])
    def hide(self, request, pk):
        comment = self.get_object()
        serializer = HideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_hide(actor=request.user, comment=comment, reason=serializer.validated_data["reason"])
        return comment_response(comment)

    @action(detail=True, methods=["post"])
    def unhide(self, request, pk):
        return comment_response(services.comment_unhide(actor=request.user, comment=self.get_object()))

    @action(detail=True, methods=["post"])
    def flags(self, request, pk):
        comment = self.get_object()
        serializer = FlagCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = services.comment_flag(actor=request.user, comment=comment, reason=serializer.validated_data["reason"])
        return Response(FlagSerializer(flag).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post", "delete"])
    def support(self, request, pk):
        comment = self.get_object()
        if request.method == "POST":
            services.comment_support(actor=request.user, comment=comment)
        else:
            services.comment_support_withdraw(actor=request.user, comment=comment)
        return comment_response(comment_or_404(request, pk))

    @action(detail=True, methods=["post", "delete"])
    def resolution(self, request, pk):
        comment = self.get_object()
        services.thread_set_resolved(actor=request.user, comment=comment, resolved=request.method == "POST")
        return comment_response(comment_or_404(request, pk))


@extend_schema_view(
    list=extend_schema(summary="Replies in a comment's thread", tags=["comments"], parameters=[COMMENT_PK]),
    create=extend_schema(
        summary="Reply in a comment's thread",
        tags=["comments"],
        parameters=[COMMENT_PK],
        request=ReplyCreateSerializer,
        responses={201: ReplySerializer},
    ),
)
class ReplyViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = ReplySerializer
    queryset = Reply.objects.none()
    ordering_fields = ["id"]
    ordering = ["id"]
    rule_permissions = {"create": "comments.reply"}

    def scoped_queryset(self):
        comment = comment_or_404(self.request, self.kwargs["comment_id"])
        return selectors.comment_thread(comment=comment)

    def create(self, request, comment_id):
        comment = comment_or_404(request, comment_id)
        check(self, request, comment)
        serializer = ReplyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reply = services.reply_create(actor=request.user, comment=comment, **serializer.validated_data)
        return Response(ReplySerializer(reply).data, status=status.HTTP_201_CREATED)


def _position_status(user, engagement_round) -> dict:
    participation = participation_for(user, engagement_round.consultation)
    if participation is None:  # the rule lets only a delegation's focal point in
        raise Http404
    position = (
        NationalPosition.objects.filter(round=engagement_round, organisation_id=participation.organisation_id)
        .select_related("submitted_by")
        .first()
    )
    endorsed_now = selectors.endorsed_count(
        engagement_round=engagement_round, organisation_id=participation.organisation_id
    )
    return {
        "round": engagement_round.pk,
        "organisation": participation.organisation,
        "submitted": position is not None,
        "submitted_at": position.submitted_at if position else None,
        "submitted_by": position.submitted_by if position else None,
        "submitted_endorsed_count": position.endorsed_count if position else 0,
        "endorsed_count": endorsed_now,
        "note": position.note if position else "",
    }


@extend_schema_view(
    retrieve=extend_schema(
        summary="Where the delegation's national position stands (focal point)",
        tags=["national positions"],
        parameters=[ROUND_ID],
        responses={200: NationalPositionSerializer},
    ),
    create=extend_schema(
        summary="Submit the delegation's national position (focal point)",
        tags=["national positions"],
        parameters=[ROUND_ID],
        request=NationalPositionSubmitSerializer,
        responses={200: OpenApiResponse(NationalPositionSerializer, description="The position as submitted.")},
    ),
)
class NationalPositionViewSet(ApiViewSet):
    serializer_class = NationalPositionSerializer
    pagination_class = None

    def _round(self, request, round_id):
        engagement_round = round_or_404(request, round_id)
        # The same rule the national position page asks (comments.rules), tested as a rule:
        # Django's has_perm grants a superuser everything, but a position belongs to a
        # delegation, and a site admin who takes no part in the consultation has none.
        if not rules.has_perm("comments.submit_national_position", request.user, engagement_round):
            raise PermissionDenied(_("Only your delegation's focal point can see and submit the national position."))
        return engagement_round

    def retrieve(self, request, round_id):
        engagement_round = self._round(request, round_id)
        return Response(NationalPositionSerializer(_position_status(request.user, engagement_round)).data)

    def create(self, request, round_id):
        engagement_round = self._round(request, round_id)
        serializer = NationalPositionSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.national_position_submit(
            actor=request.user, engagement_round=engagement_round, note=serializer.validated_data["note"]
        )
        return Response(NationalPositionSerializer(_position_status(request.user, engagement_round)).data)
