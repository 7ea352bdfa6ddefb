from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from django.contrib import admin

        # The admin index links to the dashboard (its template adds one box to the stock page).
        admin.site.index_template = "dashboard/admin_index.html"
