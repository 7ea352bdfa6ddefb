from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Providers and key pools"

    def ready(self) -> None:
        from providers import signals  # noqa: F401  (connects cache invalidation)
