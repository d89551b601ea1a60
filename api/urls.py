"""REST API v1 (/api/v1/), its OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/)."""

from pathlib import Path

import drf_spectacular_sidecar
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
LIST = {"get": "list"}
LIST_CREATE = {"get": "list", "post": "create"}


def post(name: str) -> dict:
    return {"post": name}


v1 = [
    path("consultations/", ConsultationViewSet.as_view(LIST), name="consultation-list"),
    path("consultations/<slug:slug>/", ConsultationViewSet.as_view({"get": "retrieve"}), name="consultation-detail"),
    path("consultations/<slug:slug>/phases/", PhaseViewSet.as_view(LIST_CREATE), name="phase-list"),
    path(
        "consultations/<slug:slug>/rounds/",
        ConsultationRoundViewSet.as_view({"get": "list", "post": "create"}),
        name="round-list",
    ),
    path("consultations/<slug:slug>/versions/", VersionViewSet.as_view(LIST_CREATE), name="version-list"),
    path(
        "consultations/<slug:slug>/versions/<str:number>/",
        VersionViewSet.as_view({"get": "retrieve"}),
        name="version-detail",
    ),
    path(
        "consultations/<slug:slug>/versions/<str:number>/copy/",
        VersionViewSet.as_view(post("copy")),
        name="version-copy",
    ),
    path(
        "consultations/<slug:slug>/versions/<str:number>/publish/",
        VersionViewSet.as_view(post("publish")),
        name="version-publish",
    ),
    path(
        "consultations/<slug:slug>/versions/<str:number>/sections/",
        SectionViewSet.as_view(LIST_CREATE),
        name="section-list",
    ),
    path(
        "consultations/<slug:slug>/versions/<str:number>/sections/<str:key>/",
        SectionViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="section-detail",
    ),
    path("consultations/<slug:slug>/participants/", ParticipantViewSet.as_view(LIST), name="participant-list"),
    path("consultations/<slug:slug>/invitations/", InvitationViewSet.as_view(LIST_CREATE), name="invitation-list"),
    path("rounds/<int:pk>/", RoundViewSet.as_view({"get": "retrieve"}), name="round-detail"),
    path("rounds/<int:pk>/reschedule/", RoundViewSet.as_view(post("reschedule")), name="round-reschedule"),
    path("rounds/<int:pk>/open-now/", RoundViewSet.as_view(post("open_now")), name="round-open-now"),
    path("rounds/<int:pk>/close-now/", RoundViewSet.as_view(post("close_now")), name="round-close-now"),
    path("rounds/<int:pk>/extend/", RoundViewSet.as_view(post("extend")), name="round-extend"),
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
        "comments/<int:pk>/",
        CommentViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="comment-detail",
    ),
    path("comments/<int:pk>/submit/", CommentViewSet.as_view(post("submit")), name="comment-submit"),
    path("comments/<int:pk>/withdraw/", CommentViewSet.as_view(post("withdraw")), name="comment-withdraw"),
    path(
        "comments/<int:pk>/endorsement/",
        CommentViewSet.as_view({"post": "endorsement", "delete": "endorsement"}),
        name="comment-endorsement",
    ),
    path("comments/<int:pk>/hide/", CommentViewSet.as_view(post("hide")), name="comment-hide"),
    path("comments/<int:pk>/unhide/", CommentViewSet.as_view(post("unhide")), name="comment-unhide"),
    path("comments/<int:pk>/flags/", CommentViewSet.as_view(post("flags")), name="comment-flags"),
    path(
        "comments/<int:comment_id>/replies/",
        ReplyViewSet.as_view({"get": "list", "post": "create"}),
        name="comment-replies",
    ),
    # Consolidation, dispositions, reports and imports (api.views.consolidation).
    path(
        "rounds/<int:round_id>/consolidations/",
        RoundConsolidationViewSet.as_view({"get": "list", "post": "create"}),
        name="round-consolidations",
    ),
    path("consolidations/<int:pk>/", ConsolidationViewSet.as_view({"get": "retrieve"}), name="consolidation-detail"),
    path("rounds/<int:round_id>/feedback/", FeedbackViewSet.as_view({"get": "retrieve"}), name="round-feedback"),
    path(
        "comments/<int:pk>/disposition/",
        DispositionViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="comment-disposition",
    ),
    path(
        "comments/<int:pk>/disposition/proposal/",
        DispositionViewSet.as_view(post("proposal")),
        name="comment-disposition-proposal",
    ),
    path(
        "comments/<int:pk>/disposition/approve/",
        DispositionViewSet.as_view(post("approve")),
        name="comment-disposition-approve",
    ),
    path(
        "duplicate-groups/<int:pk>/disposition/",
        DuplicateGroupViewSet.as_view(post("disposition")),
        name="group-disposition",
    ),
    path(
        "consultations/<slug:slug>/reports/",
        ConsultationReportViewSet.as_view({"get": "list", "post": "create"}),
        name="report-list",
    ),
    path("reports/<int:pk>/", ReportViewSet.as_view({"get": "retrieve"}), name="report-detail"),
    path("reports/<int:pk>/download/", ReportViewSet.as_view({"get": "download"}), name="report-download"),
    path("rounds/<int:round_id>/imports/", RoundImportViewSet.as_view(post("create")), name="round-imports"),
    path("imports/<int:pk>/", ImportViewSet.as_view({"get": "retrieve"}), name="import-detail"),
    path("consultations/<slug:slug>/audit/", AuditEntryViewSet.as_view(LIST), name="audit-list"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Swagger UI's files from the drf-spectacular-sidecar package: no CDN, no extra app.
    re_path(r"^docs/assets/(?P<path>.*)$", serve, {"document_root": SIDECAR_STATIC}, name="docs-assets"),
]
