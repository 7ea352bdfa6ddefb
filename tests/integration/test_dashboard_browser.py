"""The dashboard in real headless Chromium, served by a real gateway process.

Known traffic goes through the gateway to the mock upstream (the official anthropic
SDK as client); a staff user logs in through the admin login form, the charts draw, the
figures shown match the usage records in the gateway's database, and a slow stream shows
up live over the WebSocket while it runs. Priced and unpriced records written into the
gateway's database show up as spend (top spenders, unpriced models, the spend chart). A screenshot is saved (``DASHBOARD_SCREENSHOT``
names where, else the test's temporary directory).
"""

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import anthropic
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.mock_upstream.harness import MockUpstream

pytestmark = pytest.mark.integration
playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GATEWAY_KEY = "vdm-browser-test-gateway-key"
STAFF = ("staff", "a-long-test-password-1")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, MockUpstream]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (scripts/_install_chromium.sh)")
    with MockUpstream() as upstream:
        env = {
            "MOCK_API_KEY": "sk-mock-upstream-key-for-the-browser",
            "MOCK_BASE_URL": upstream.base_url,
            "MOCK_MAX_RETRIES": "0",
            "VDM_DEFAULT_PROVIDER": "mock",
            "PROXY_API_KEY": GATEWAY_KEY,
            "VANDAMME_USAGE_FLUSH_SECONDS": "0.2",
        }
        with GatewayProcess(tmp_path_factory.mktemp("dashboard"), env) as process:
            subprocess.run(
                [sys.executable, "manage.py", "createsuperuser", "--noinput"],
                cwd=REPO_ROOT,
                env={
                    **process.env,
                    "DJANGO_SUPERUSER_USERNAME": STAFF[0],
                    "DJANGO_SUPERUSER_EMAIL": "staff@example.com",
                    "DJANGO_SUPERUSER_PASSWORD": STAFF[1],
                },
                check=True,
                capture_output=True,
                timeout=60,
            )
            yield process, upstream


def _database(process: GatewayProcess) -> Path:
    return Path(process.env["DATABASE_URL"].removeprefix("sqlite:///"))


def _usage_totals(process: GatewayProcess) -> tuple[int, int, int, int]:
    with sqlite3.connect(_database(process)) as db:
        row = db.execute(
            "SELECT count(*), sum(status >= 400), sum(input_tokens), sum(output_tokens)"
            " FROM teams_usagerecord WHERE provider = 'mock'"
        ).fetchone()
    return tuple(int(value or 0) for value in row)  # type: ignore[return-value]


def _wait_for_records(process: GatewayProcess, count: int) -> tuple[int, int, int, int]:
    deadline = time.monotonic() + 15
    while (totals := _usage_totals(process))[0] < count:
        assert time.monotonic() < deadline, f"only {totals[0]} of {count} usage records written"
        time.sleep(0.1)
    return totals


# Spend records the test writes itself (the mock upstream's model may have no price):
# (team, key id, key prefix, provider, model, cost in USD or None for unpriced).
SPEND_RECORDS = [
    ("browser-a", 9001, "vdm-brows-a", "priced", "big-model", "1.25"),
    ("browser-a", 9001, "vdm-brows-a", "priced", "big-model", "0.0000012345"),
    ("browser-a", 9002, "vdm-brows-b", "priced", "big-model", "3"),
    ("browser-b", None, "", "priced", "small-model", "0.5"),
    ("browser-b", None, "", "nopricing", "mystery-model", None),
    ("browser-b", None, "", "nopricing", "mystery-model", None),
]


def _write_spend_records(process: GatewayProcess) -> None:
    now = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=2)  # stored as naive UTC
    with sqlite3.connect(_database(process)) as db:
        db.executemany(
            "INSERT INTO teams_usagerecord (created_at, team_name, key_id, key_prefix, provider,"
            " model_requested, model_served, cost_usd, unpriced, status, input_tokens, output_tokens,"
            " cached_tokens, cache_write_tokens, reasoning_tokens, latency_ms, streamed, error,"
            " price_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 200, 10, 5, 0, 0, 0, 100, 0, '', 'test')",
            [
                (now.isoformat(" "), team, key_id, prefix, provider, model, model, cost, cost is None)
                for team, key_id, prefix, provider, model, cost in SPEND_RECORDS
            ],
        )


def _month_spend(process: GatewayProcess, column: str, value: object) -> Decimal:
    """This month's priced spend of a team or key, as the database sums it."""
    start = datetime.now(UTC).strftime("%Y-%m-01")
    with sqlite3.connect(_database(process)) as db:
        (total,) = db.execute(
            f"SELECT sum(cost_usd) FROM teams_usagerecord WHERE {column} = ? AND created_at >= ?",  # noqa: S608
            (value, start),
        ).fetchone()
    return Decimal(str(total))


def _shown_usd(page: object, table: str, row: str) -> Decimal:
    cell = page.locator(f"#{table} tr[data-name='{row}'] td[data-field='month_usd']")  # type: ignore[attr-defined]
    return Decimal(cell.get_attribute("data-value"))


def _check_spend(page: object, process: GatewayProcess) -> None:
    """Written after the traffic figures were checked (their providers would add chart lines)."""
    _write_spend_records(process)
    page.reload()  # type: ignore[attr-defined]
    page.wait_for_selector("svg#chart-spend[data-drawn='1']", state="attached", timeout=10_000)  # type: ignore[attr-defined]
    assert page.locator("svg#chart-spend polyline.series").count() >= 2  # type: ignore[attr-defined]
    for team in ("browser-a", "browser-b"):
        expected = _month_spend(process, "team_name", team)
        assert abs(_shown_usd(page, "top-spenders-teams", team) - expected) < Decimal("1e-9")
    assert abs(_shown_usd(page, "top-spenders-keys", "9001") - Decimal("1.2500012345")) < Decimal("1e-9")
    text = page.locator("#top-spenders-teams tr[data-name='browser-a']").inner_text()  # type: ignore[attr-defined]
    assert "$4.250001" in text  # shown to the millionth
    unpriced = page.locator("#unpriced-models tr[data-name='nopricing:mystery-model'] td[data-field='count']")  # type: ignore[attr-defined]
    assert unpriced.inner_text().strip() == "2"


def _send_traffic(process: GatewayProcess, upstream: MockUpstream) -> None:
    client = anthropic.Anthropic(api_key=GATEWAY_KEY, base_url=process.base_url, max_retries=0)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
    for _ in range(4):
        client.messages.create(model="gpt-4o", max_tokens=20, messages=messages)
    for _ in range(2):
        with client.messages.stream(model="gpt-4o", max_tokens=20, messages=messages) as stream:
            stream.get_final_text()
    upstream.script([{"status": 500}])
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="gpt-4o", max_tokens=20, messages=messages)


def _slow_stream(process: GatewayProcess, upstream: MockUpstream) -> threading.Thread:
    upstream.configure(chunks=20, delay_ms=300)  # the default reply, paced: six seconds in all
    client = anthropic.Anthropic(api_key=GATEWAY_KEY, base_url=process.base_url, max_retries=0)

    def run() -> None:
        messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "slowly"}]
        with client.messages.stream(model="gpt-4o", max_tokens=20, messages=messages) as stream:
            stream.get_final_text()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _cell(page: object, table: str, row: str, field: str) -> int:
    text = page.locator(f"#{table} tr[data-name='{row}'] td[data-field='{field}']").inner_text()  # type: ignore[attr-defined]
    return int(text.strip())


def test_dashboard_in_chromium_shows_the_recorded_usage_and_live_streams(
    gateway: tuple[GatewayProcess, MockUpstream], tmp_path: Path
) -> None:
    process, upstream = gateway
    _send_traffic(process, upstream)
    requests, errors, input_tokens, output_tokens = _wait_for_records(process, 7)
    assert (requests, errors) == (7, 1)

    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            page.goto(f"{process.base_url}/admin/login/?next=/admin/dashboard/")
            page.fill("#id_username", STAFF[0])
            page.fill("#id_password", STAFF[1])
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/dashboard/")
            for chart in ("requests", "errors", "latency", "tokens"):
                page.wait_for_selector(f"svg#chart-{chart}[data-drawn='1']", state="attached", timeout=10_000)
            assert page.locator("svg#chart-requests polyline.series").count() == 1  # one provider
            assert page.locator("svg#chart-latency polyline.series").count() == 2  # its p50 and p95

            shown = "totals-hour-provider"
            assert page.locator(f"#{shown}").is_visible()
            assert _cell(page, shown, "mock", "requests") == requests
            assert _cell(page, shown, "mock", "errors") == errors
            assert _cell(page, shown, "mock", "input_tokens") == input_tokens
            assert _cell(page, shown, "mock", "output_tokens") == output_tokens
            assert "502" in page.locator("#recent-errors").inner_text()
            assert "healthy" in page.locator("#key-pools").inner_text()
            _check_spend(page, process)

            page.click("button[data-window='day']")
            assert page.locator("#totals-day-provider").is_visible()
            assert _cell(page, "totals-day-provider", "mock", "requests") == requests
            page.click("button[data-window='hour']")

            slow = _slow_stream(process, upstream)
            page.wait_for_function(
                "document.getElementById('live-total').textContent === '1'", timeout=10_000
            )
            row = page.locator("#live-streams tbody tr").first.inner_text()
            assert "mock" in row
            assert "gpt-4o" in row
            screenshot = Path(os.environ.get("DASHBOARD_SCREENSHOT", tmp_path / "dashboard.png"))
            page.screenshot(path=str(screenshot), full_page=True)
            slow.join(timeout=30)
            upstream.reset()
            page.wait_for_function(
                "document.getElementById('live-total').textContent === '0'", timeout=10_000
            )
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
