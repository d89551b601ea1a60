from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # OpenAPI descriptions of the authentication classes.
        from . import schema  # noqa: F401
