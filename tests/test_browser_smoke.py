"""The browser test infrastructure works: Chromium reaches the live server, static files are served
from the local node_modules (no CDN), and nothing outside this machine is reachable."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_bootstrap_is_served_locally(live_server: Any, page: Any) -> None:
    response = page.goto(f"{live_server.url}/static/vendor/bootstrap/css/bootstrap.min.css")
    assert response is not None
    assert response.status == 200
    assert "Bootstrap" in response.text()


def test_pages_cannot_reach_the_internet(page: Any) -> None:
    from playwright.sync_api import Error

    with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("https://cdn.jsdelivr.net/npm/bootstrap@5.3.8/dist/css/bootstrap.min.css")
