"""Data-plane views: thin, async."""

from django.http import HttpRequest, JsonResponse


async def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
