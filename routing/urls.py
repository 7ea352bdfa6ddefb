"""Data-plane routes."""

from django.urls import path, re_path

from routing import views

urlpatterns = [
    path("", views.root, name="root"),
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("metrics", views.metrics, name="metrics"),
    path("v1/messages", views.messages, name="messages"),
    path("v1/messages/count_tokens", views.count_tokens, name="count-tokens"),
    path("v1/chat/completions", views.chat_completions, name="chat-completions"),
    path("v1/responses", views.responses, name="responses"),
    path("v1/models", views.models, name="models"),
    path("v1/vandamme/resolve", views.resolve, name="resolve"),
    re_path(r"^v1/", views.not_found, name="v1-not-found"),
]
