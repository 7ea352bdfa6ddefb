from django.apps import AppConfig


class AliasesConfig(AppConfig):
    name = "aliases"
    verbose_name = "Model aliases"

    def ready(self) -> None:
        from aliases import signals  # noqa: F401  (connects cache invalidation)
