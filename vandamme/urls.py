"""URL routes: admin, management API, and the proxy data plane."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("routing.urls")),
]
