from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "apitokens"
    verbose_name = "Management API tokens"

    def ready(self) -> None:
        from apitokens import schema  # noqa: F401  (registers the token with the OpenAPI schema)
