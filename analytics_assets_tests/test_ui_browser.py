"""The Dagster UI in a real browser, as a person uses it.

The asset graph, partitions, a materialization launched by clicking, its metadata, and the rows
it landed.

Debian's Chromium driven by Playwright (`executable_path`: Playwright's own browser download
does not work here). Marked `ui`: `pytest -m "not ui"` leaves it out locally; CI always runs it.
"""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics_assets.resources_spec import ANALYTICS_API
from analytics_assets_tests.api_emulator import day
from analytics_assets_tests.conftest import REPOSITORY, window

pytestmark = pytest.mark.ui
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPOSITORY / "test-artifacts"
ASSETS = ("models", "files", "file_contents", "batches", "batch_results")


@pytest.fixture
def page(dagster_dev) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            browser.close()


def dismiss_community_dialog(page) -> None:
    """A new instance greets the first visitor with "Join the Dagster community"."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # shown once per instance, absent afterwards
        page.get_by_role("button", name="Skip").click(timeout=5_000)


def declared_description(name: str) -> str:
    """The description the declaration gives a resource, as the UI should show it."""
    resource = next(r for r in ANALYTICS_API["resources"] if r["name"] == name)
    return resource["description"].replace("`", "")


def test_a_person_materializes_a_day_from_the_ui(dagster_dev, page, emulator_data, warehouse):
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()

    page.goto(f"{dagster_dev}/asset-groups", wait_until="networkidle")
    dismiss_community_dialog(page)
    for name in ASSETS:
        page.get_by_text(name, exact=True).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "ui-asset-graph.png"))

    page.goto(f"{dagster_dev}/assets/analytics/file_contents", wait_until="networkidle")
    page.get_by_text("Upstream assets").wait_for()
    page.locator("a[href*='/assets/analytics/files']").first.wait_for()
    page.get_by_text("glossary", exact=True).first.wait_for()  # the declared column schema
    page.get_by_text("analytics_api").first.wait_for()  # the declared `source` tag
    body = page.inner_text("body")
    assert "unserializable" not in body
    assert declared_description("file_contents") in body
    page.screenshot(path=str(ARTIFACTS / "ui-asset-file-contents.png"), full_page=True)

    page.goto(f"{dagster_dev}/assets/analytics/files?view=partitions", wait_until="networkidle")
    page.get_by_text("2026-12-01", exact=True).first.wait_for()

    page.goto(f"{dagster_dev}/asset-groups", wait_until="networkidle")
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.locator("[role=dialog]")
    dialog.get_by_text("Show all partitions").click()
    partitions = dialog.locator("input").first
    partitions.fill("2024-03-02")
    partitions.press("Enter")
    dialog.get_by_text("1 partition", exact=True).wait_for()
    launch = dialog.get_by_role("button", name="Launch 1 run")
    launch.wait_for()
    page.wait_for_function("b => !b.disabled", arg=launch.element_handle())
    launch.click()
    dialog.wait_for(state="hidden")

    page.goto(f"{dagster_dev}/runs", wait_until="networkidle")
    deadline = time.monotonic() + 240
    while "Success" not in page.inner_text("body"):
        assert "Failure" not in page.inner_text("body"), "the run failed"
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / "ui-run-timeout.png"))
            pytest.fail(f"the run did not succeed within 240 s: {page.inner_text('body')[:1500]}")
        page.wait_for_timeout(2_000)
        page.reload(wait_until="networkidle")
    page.get_by_role("link", name="View", exact=True).first.click()
    page.wait_for_url("**/runs/*")
    page.get_by_text("Success", exact=True).first.wait_for()
    page.wait_for_timeout(2_000)
    page.screenshot(path=str(ARTIFACTS / "ui-run-succeeded.png"))

    start, end = window(day("2024-03-02"))
    files = emulator_data.files_in(start, end)
    page.goto(f"{dagster_dev}/assets/analytics/files", wait_until="networkidle")
    page.get_by_text("rows_loaded").first.wait_for()
    row = page.locator("tr", has_text="rows_loaded").first
    assert row.inner_text().split()[-1] == str(len(files))

    assert warehouse.ids("files") == sorted(f["id"] for f in files)
    assert warehouse.ids("file_contents", "uuid") == sorted(
        emulator_data.contents[f["id"]]["uuid"] for f in files
    )
    print(f"browser test took {time.monotonic() - started:.0f} s")  # noqa: T201
