"""Fixtures of the browser tests: a real central and a headless Chromium (helpers in ui_harness).

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium from PyPI. Skips without them,
except under AUTOGATE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import os

import pytest
import ui_harness as ui

REQUIRE = os.environ.get("AUTOGATE_REQUIRE_SERVICES") == "1"


def _need_browser() -> None:
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if ui.find_browser() is None:
        missing.append("chromium + chromium-driver (apt)")
    if missing:
        text = "headless UI test needs " + ", ".join(missing)
        if REQUIRE:
            pytest.fail(text + " and AUTOGATE_REQUIRE_SERVICES=1")
        pytest.skip(text)


@pytest.fixture
def central(tmp_path):
    _need_browser()
    with ui.running_central(tmp_path) as running:
        yield running


@pytest.fixture
def browser(tmp_path):
    _need_browser()
    with ui.chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def page(browser):
    """The browser with the waits and lookups every test needs."""
    return ui.Page(browser)
