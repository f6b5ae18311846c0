"""Debian's Chromium for the tests that read pages in a real browser: Playwright drives it
through ``executable_path`` (its own browser download is not available here)."""

from __future__ import annotations

import shutil

import pytest

# Headless as root in a sandbox with no network beyond loopback: without the background
# networking flags Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is not installed: `make browser` installs Debian's chromium")


def launch(playwright):
    """A headless Chromium browser for ``playwright`` (a ``sync_playwright()`` context)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
