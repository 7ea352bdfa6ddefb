"""Data-plane routes (filled in by the proxy views)."""

from django.urls import path

from routing import views

urlpatterns = [
    path("health", views.health, name="health"),
]
