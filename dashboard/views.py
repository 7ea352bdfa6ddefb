"""The staff dashboard: one page, drawn from the usage records and the live metrics."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from dashboard import selectors
from dashboard.consumers import SOCKET_PATH


def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Gateway dashboard",
        "is_nav_sidebar_enabled": False,  # the page needs the width for its charts
        "usage": selectors.usage_overview(),
        "key_pools": selectors.key_health(),
        "groups": selectors.group_health(),
        "load_results": selectors.load_summary(),
        "recent_errors": selectors.recent_errors(),
        "spend": selectors.spend_overview(),
        "spend_days": selectors.SPEND_DAYS,
        "streams_socket_path": f"/{SOCKET_PATH}",
    }
    return TemplateResponse(request, "dashboard/dashboard.html", context)
