"""REST API v1 and its OpenAPI schema (being written)."""

urlpatterns: list = []
