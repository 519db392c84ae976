"""Fixtures of the browser tests: a real central and a headless Chromium (helpers in ui_harness).

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium from PyPI. Skips without them,
except under AUTOGATE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations


import pytest
import ui_harness as ui


@pytest.fixture
def central(tmp_path):
    ui.need_browser()
    with ui.running_central(tmp_path) as running:
        yield running


@pytest.fixture
def browser(tmp_path):
    ui.need_browser()
    with ui.chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def page(browser):
    """The browser with the waits and lookups every test needs."""
    return ui.Page(browser)
