"""The admin's and dashboard's static files are served by the gateway itself (WhiteNoise):
daphne and uvicorn serve none, and DEBUG is off in a real deployment."""

import httpx

from vandamme.asgi import application


async def test_admin_css_is_served_with_debug_off(settings: object) -> None:
    assert not settings.DEBUG  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert b"body" in response.content
