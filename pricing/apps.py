from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "pricing"
    verbose_name = "Prices and costs"

    def ready(self) -> None:
        from pricing import signals  # noqa: F401  (connects cache invalidation)
