"""The web app's tests: one platform per module (every service, the web app last), one
Chromium for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devstack.platform import Platform
from devstack.provision import Infrastructure
from devstack.toolchain import chromium
from tests.e2e.conftest import module_mail_port, module_platform, module_provider

__all__ = ["module_mail_port", "module_platform", "module_provider"]


@pytest.fixture(scope="module")
def web_url(module_platform: Platform) -> str:
    return module_platform.services["web"].url


@pytest.fixture(scope="session")
def browser(infra: Infrastructure) -> Iterator[Browser]:
    """Started after the stack: Playwright's sync API holds this thread's event loop, and the
    stack's start-up runs loops of its own."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium()), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test: no cookies from another test's user."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    # Patient: the shared 2-core machine is often busy; a person would wait less.
    context.set_default_timeout(60_000)
    context.set_default_navigation_timeout(90_000)
    expect.set_options(timeout=60_000)
    opened = context.new_page()
    yield opened
    context.close()
