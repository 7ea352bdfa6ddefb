"""The admin a team lead uses, in real headless Chromium at 1366 px, served by a real
gateway process: the provider, team and gateway key pages (and their lists) fit the
screen (``document.documentElement.scrollWidth <= innerWidth``), list fields are edited
one item per line and round-trip to the stored JSON list, a key set by the environment
names its variable, and no request 404s (the favicon included).

Screenshots of each page are saved in ``ADMIN_SCREENSHOTS`` (a directory), else in the
test's temporary directory, with ``overflow.json``: how many pixels each page is wider
than the window."""

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.test_dashboard_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.integration
playwright_sync = pytest.importorskip("playwright.sync_api")

STAFF = ("lead", "a-long-test-password-2")
SCREEN = {"width": 1366, "height": 768}
# Long enough to stretch a table cell, as a real deployment's names and URLs do.
MANY_MODELS = " ".join(f"gpt-4o-mini-2024-07-18-variant-{n}" for n in range(8))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (scripts/_install_chromium.sh)")
    env = {
        "OPENAI_API_KEY": "sk-env-openai-key-0123456789 sk-env-openai-key-9876543210",
        "OPENAI_MODELS": MANY_MODELS,
        "OPENAI_FALLBACKS": "openrouter:openai/gpt-4o",
        "OPENROUTER_API_KEY": "sk-or-env-key-0123456789",
        "PROXY_API_KEY": "vdm-admin-browser-test-key",
    }
    with GatewayProcess(tmp_path_factory.mktemp("admin"), env) as process:
        subprocess.run(
            [sys.executable, "manage.py", "createsuperuser", "--noinput"],
            cwd=REPO_ROOT,
            env={
                **process.env,
                "DJANGO_SUPERUSER_USERNAME": STAFF[0],
                "DJANGO_SUPERUSER_EMAIL": "lead@example.com",
                "DJANGO_SUPERUSER_PASSWORD": STAFF[1],
            },
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield process


def _query(process: GatewayProcess, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(process.env["DATABASE_URL"].removeprefix("sqlite:///")) as database:
        return database.execute(sql, params).fetchall()


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    width, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(width) - int(window)


def _shoot(page: Any, directory: Path, name: str) -> int:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    return _overflow(page)


def test_the_admin_pages_fit_1366_px_and_edit_lists_as_lines(gateway: GatewayProcess, tmp_path: Path) -> None:
    shots = Path(os.environ.get("ADMIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    overflows: dict[str, int] = {}
    missing: list[str] = []
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport=SCREEN)
            page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
            base = gateway.base_url
            page.goto(f"{base}/admin/login/?next=/admin/")
            page.fill("#id_username", STAFF[0])
            page.fill("#id_password", STAFF[1])
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/")

            # A team created in the admin: its allow lists typed one per line.
            page.goto(f"{base}/admin/teams/team/add/")
            assert page.locator("textarea#id_allowed_models").count() == 1
            page.fill("#id_name", "research")
            page.fill("#id_allowed_providers", "openai\n\nopenrouter\n")
            page.fill("#id_allowed_models", "openai:gpt-4o*\n  fast  ")
            page.click("input[name=_continue]")
            page.wait_for_selector(".messagelist .success")
            stored = _query(gateway, "SELECT allowed_providers, allowed_models FROM teams_team")
            assert [tuple(map(json.loads, row)) for row in stored] == [
                (["openai", "openrouter"], ["openai:gpt-4o*", "fast"])
            ]
            assert page.input_value("#id_allowed_models") == "openai:gpt-4o*\nfast"
            # Two keys from the team list's action, so the team page shows its key table.
            for _ in range(2):
                page.goto(f"{base}/admin/teams/team/")
                page.check("input.action-select")
                page.select_option("select[name=action]", "create_key")
                page.click("button[name=index]")
                page.wait_for_selector(".messagelist .warning")
            team_id = _query(gateway, "SELECT id FROM teams_team")[0][0]
            key_id = _query(gateway, "SELECT id FROM teams_gatewaykey")[0][0]
            page.goto(f"{base}/admin/teams/team/{team_id}/change/")
            overflows["team"] = _shoot(page, shots, "team")
            page.goto(f"{base}/admin/teams/team/")
            overflows["team list"] = _shoot(page, shots, "team-list")
            page.goto(f"{base}/admin/teams/gatewaykey/{key_id}/change/")
            overflows["gateway key"] = _shoot(page, shots, "gateway-key")
            page.goto(f"{base}/admin/teams/gatewaykey/")
            overflows["gateway key list"] = _shoot(page, shots, "gateway-key-list")

            # The provider set by the environment: labels, its lists as lines, its keys' origin.
            page.goto(f"{base}/admin/providers/provider/")
            overflows["provider list"] = _shoot(page, shots, "provider-list")
            page.click("text=openai")
            page.wait_for_selector("#provider_form")
            overflows["provider"] = _shoot(page, shots, "provider")
            text = page.locator("#content").inner_text()
            assert "API format" in text
            assert "Base URL" in text
            assert text.count("set by OPENAI_API_KEY") == 2  # each of its two keys says where it comes from
            page.goto(f"{base}/admin/providers/provider/add/")
            assert page.locator("textarea#id_models_list").count() == 1
            assert page.locator("textarea#id_fallbacks").count() == 1
            icons = page.locator("link[rel~=icon]").count()
        finally:
            browser.close()
    (shots / "overflow.json").write_text(json.dumps(overflows))  # the numbers, beside the screenshots
    assert {name: px for name, px in overflows.items() if px > 0} == {}
    assert missing == []
    assert icons == 1
    assert (shots / "provider.png").stat().st_size > 10_000
