"""The dashboard lives under /admin/ and, like the admin, needs a staff login."""

from django.contrib import admin
from django.urls import path

from dashboard import views

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard), name="dashboard"),
]
