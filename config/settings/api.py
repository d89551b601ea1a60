"""Django REST Framework, the API's throttles and the OpenAPI schema (drf-spectacular)."""

import environ

env = environ.Env()

REST_FRAMEWORK = {
    # X-Session-Token (allauth headless app clients) first: its challenge makes an anonymous
    # request a 401. Browser sessions follow, with CSRF enforced by DRF. Both refuse staff
    # without TOTP while REQUIRE_STAFF_MFA is on (403 mfa_setup_required).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.SessionTokenAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.UserThrottle", "api.throttling.AnonThrottle"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Requests per person (user) or per IP address (anon); counted in the default cache, which is
# Redis in production (CACHE_URL). Read at request time, so tests can override them.
API_THROTTLE_RATES = {
    "user": env("API_THROTTLE_RATE_USER", default="600/min"),
    "anon": env("API_THROTTLE_RATE_ANON", default="60/min"),
}
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "Consultation platform API",
    "DESCRIPTION": (
        "REST API v1 of the consultation platform. Authenticate with the browser session (CSRF "
        "token required on writes) or with an allauth headless app session token in the "
        "X-Session-Token header. Errors are RFC 9457 problem details (application/problem+json)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CommentTypeEnum": "comments.models.Comment.Type",
        "CommentStatusEnum": "comments.models.Comment.Status",
        "RoundStateEnum": "consultations.models.EngagementRound.State",
        "RoundVisibilityEnum": "consultations.models.EngagementRound.Visibility",
        "RoleEnum": "consultations.models.Role",
        "VersionStatusEnum": "consultations.models.DraftVersion.Status",
        "SectionKindEnum": "consultations.models.Section.Kind",
        "TextQuoteSelectorTypeEnum": "api.serializers.comments.TEXT_QUOTE_SELECTOR",
        "TextPositionSelectorTypeEnum": "api.serializers.comments.TEXT_POSITION_SELECTOR",
        "MotivationEnum": "api.serializers.annotations.MOTIVATIONS",
        "TextualBodyTypeEnum": "api.serializers.annotations.TEXTUAL_BODY",
        "TextPlainEnum": "api.serializers.annotations.TEXT_PLAIN",
        "PersonTypeEnum": "api.serializers.annotations.PERSON",
        "AnnotationTypeEnum": "api.serializers.annotations.ANNOTATION",
        "AnnotationPageTypeEnum": "api.serializers.annotations.ANNOTATION_PAGE",
        "AnnotationCollectionTypeEnum": "api.serializers.annotations.ANNOTATION_COLLECTION",
    },
    # Swagger UI from the drf-spectacular-sidecar package, served by api.urls: no CDN.
    "SWAGGER_UI_DIST": "/api/docs/assets/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/api/docs/assets/swagger-ui-dist/favicon-32x32.png",
}
