"""REST API v1 (/api/v1/), its OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/)."""

from pathlib import Path

import drf_spectacular_sidecar
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from .views.annotations import AnnotationViewSet
from .views.audit import AuditEntryViewSet
from .views.comments import CommentViewSet, NationalPositionViewSet, ReplyViewSet, RoundCommentViewSet
from .views.consolidation import (
    ConsolidationViewSet,
    ConsultationReportViewSet,
    DispositionViewSet,
    DuplicateGroupViewSet,
    FeedbackViewSet,
    ImportViewSet,
    ReportViewSet,
    RoundConsolidationViewSet,
    RoundImportViewSet,
)
from .views.consultations import (
    ConsultationRoundViewSet,
    ConsultationViewSet,
    InvitationViewSet,
    ParticipantViewSet,
    PhaseViewSet,
    RoundViewSet,
    SectionViewSet,
    VersionViewSet,
)

app_name = "api"

SIDECAR_STATIC = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"

# Routers build the URLs of ViewSets from their actions (list/create, retrieve/update/destroy,
# @action with its methods and url_path), named "<basename>-list", "<basename>-detail" and
# "<basename>-<action>". Path converters, not regexes: each ViewSet says its lookup's converter
# (ApiViewSet: int).
#
# Two routers: a basename is registered once per router, and "round" and "report" each name a
# collection under a consultation (round-list, report-list) and the objects themselves at the top
# (round-detail, report-detail...), served by different ViewSets.
top = SimpleRouter(use_regex_path=False)
top.register("consultations", ConsultationViewSet, basename="consultation")
top.register("rounds", RoundViewSet, basename="round")
top.register("comments", CommentViewSet, basename="comment")
top.register("consolidations", ConsolidationViewSet, basename="consolidation")
top.register("duplicate-groups", DuplicateGroupViewSet, basename="group")
top.register("reports", ReportViewSet, basename="report")
top.register("imports", ImportViewSet, basename="import")

in_consultation = SimpleRouter(use_regex_path=False)
in_consultation.register("consultations/<slug:slug>/phases", PhaseViewSet, basename="phase")
in_consultation.register("consultations/<slug:slug>/rounds", ConsultationRoundViewSet, basename="round")
in_consultation.register("consultations/<slug:slug>/versions", VersionViewSet, basename="version")
in_consultation.register("consultations/<slug:slug>/versions/<str:number>/sections", SectionViewSet, basename="section")
in_consultation.register("consultations/<slug:slug>/participants", ParticipantViewSet, basename="participant")
in_consultation.register("consultations/<slug:slug>/invitations", InvitationViewSet, basename="invitation")
in_consultation.register("consultations/<slug:slug>/reports", ConsultationReportViewSet, basename="report")
in_consultation.register("consultations/<slug:slug>/audit", AuditEntryViewSet, basename="audit")

# Wired by hand: shapes a router does not make.
# - A collection under a parent object named without "-list" (round-comments, comment-replies,
#   round-consolidations, round-imports): a router would call them "<basename>-list", and these
#   names are the API's published ones (clients and the docs reverse them).
# - One object per parent, read and written at a collection URL (round-feedback: GET retrieve;
#   national-position: GET retrieve and POST create) or at a sub-path of another resource
#   (round-annotations: rounds/<pk>/annotations/; comment-disposition with its proposal and
#   approve actions under comments/<pk>/disposition/): a router's detail route is
#   "<prefix>/<lookup>/" and its collection route maps GET to list, not retrieve.
by_hand = [
    path(
        "rounds/<int:round_id>/comments/",
        RoundCommentViewSet.as_view({"get": "list", "post": "create"}),
        name="round-comments",
    ),
    path(
        "rounds/<int:round_id>/national-position/",
        NationalPositionViewSet.as_view({"get": "retrieve", "post": "create"}),
        name="national-position",
    ),
    path("rounds/<int:pk>/annotations/", AnnotationViewSet.as_view({"get": "retrieve"}), name="round-annotations"),
    path(
        "comments/<int:comment_id>/replies/",
        ReplyViewSet.as_view({"get": "list", "post": "create"}),
        name="comment-replies",
    ),
    path(
        "rounds/<int:round_id>/consolidations/",
        RoundConsolidationViewSet.as_view({"get": "list", "post": "create"}),
        name="round-consolidations",
    ),
    path("rounds/<int:round_id>/feedback/", FeedbackViewSet.as_view({"get": "retrieve"}), name="round-feedback"),
    path(
        "comments/<int:pk>/disposition/",
        DispositionViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="comment-disposition",
    ),
    path(
        "comments/<int:pk>/disposition/proposal/",
        DispositionViewSet.as_view({"post": "proposal"}),
        name="comment-disposition-proposal",
    ),
    path(
        "comments/<int:pk>/disposition/approve/",
        DispositionViewSet.as_view({"post": "approve"}),
        name="comment-disposition-approve",
    ),
    path("rounds/<int:round_id>/imports/", RoundImportViewSet.as_view({"post": "create"}), name="round-imports"),
]

v1 = [*top.urls, *in_consultation.urls, *by_hand]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Swagger UI's files from the drf-spectacular-sidecar package: no CDN, no extra app.
    re_path(r"^docs/assets/(?P<path>.*)$", serve, {"document_root": SIDECAR_STATIC}, name="docs-assets"),
]
