"""Shared pytest fixtures: a headless Chromium driven by Playwright, no network beyond this machine,
and CI strictness (a skipped test fails a CI run).

Domain fixtures live in minzheng/conftest.py; this file holds only test infrastructure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Playwright's sync API drives an asyncio event loop from the test thread. Django sees that loop
# and raises SynchronousOnlyOperation for every ORM call made afterwards in the same thread (test
# bodies and fixtures, not only browser tests, because the browser is session-scoped). The loop never
# runs Django code concurrently with the test, so the check is a false alarm here: switch it off.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("MINZHENG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    # Pages may only reach this machine: a stray CDN reference fails the test instead of silently
    # loading from the internet (government intranets have none).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
ARTIFACTS = Path(__file__).resolve().parent / "test-results"
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}  # noqa: S104 (addresses, not a bind)


# --- Browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test process (per xdist worker)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set MINZHENG_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies, zh-CN) and page per test; on failure a screenshot is
    saved to test-results/."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


# --- Network: only this machine -------------------------------------------------------------------


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        return str(address[0]) in LOCAL_HOSTS or str(address[0]).startswith("127.")
    return False


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache (public request limits, cached calendars)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """Tests never reach the internet: Python socket connections go only to loopback or unix
    sockets (the live server, PostgreSQL on 127.0.0.1). Chromium is restricted by its resolver rules."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise ConnectionRefusedError(f"tests may not open network connections (to {address!r})")

    def connect(sock: socket.socket, address: Any) -> None:
        guard(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        guard(sock, address)
        return real_connect_ex(sock, address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        yield


# --- PostgreSQL: the audit tables belong to another role ------------------------------------------

# Migration core 0003 gives the audit tables to `<app role>_audit_owner`; the app role may not
# TRUNCATE them, yet Django empties every table after a transactional test. Test runs (only) have
# the app role join the owner role for the flush's transaction: it needs CREATEROLE, which .ci/run
# grants the test role. Production flushes nothing.
AUDIT_FLUSH_JOIN = """
DO $$
DECLARE owner name := (SELECT tableowner FROM pg_tables
                       WHERE schemaname = current_schema() AND tablename = 'core_auditevent');
BEGIN
    IF owner IS NOT NULL AND owner <> current_user THEN
        EXECUTE format('GRANT %I TO %I', owner, current_user);
    END IF;
END $$
"""
AUDIT_FLUSH_LEAVE = AUDIT_FLUSH_JOIN.replace("'GRANT %I TO %I'", "'REVOKE %I FROM %I'")


@pytest.fixture(autouse=True, scope="session")
def _flush_audit_tables_as_owner() -> Iterator[None]:
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = original(self, style, tables, **kwargs)
        return [AUDIT_FLUSH_JOIN, *statements, AUDIT_FLUSH_LEAVE] if statements else statements

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


# --- CI: a skipped test is a failure --------------------------------------------------------------

_skipped: list[pytest.TestReport] = []


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs in the xdist controller too, with the workers' reports.
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _in_ci() and _skipped and not hasattr(session.config, "workerinput") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _in_ci() and _skipped:
        terminalreporter.section("CI: skipped tests are failures", sep="=", red=True, bold=True)
        for report in _skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            terminalreporter.write_line(f"SKIPPED {report.nodeid}: {reason}", red=True)
        terminalreporter.write_line(
            f"{len(_skipped)} skipped test(s): this CI run fails.", red=True, bold=True
        )
