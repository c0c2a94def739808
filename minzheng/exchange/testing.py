"""The department simulator as a pytest fixture: a real process on a free port, called back at the
live server, its departments registered as counterparties.

    def test_something(department_simulator: DepartmentSimulator) -> None:
        department_simulator.fault("tax", "refuse")
        services.send_search(..., callback_url=department_simulator.callback_url("tax"))

Tests using it run against the live server (pytest-django's `live_server`), hence with the
transactional database: callbacks arrive on the server's own thread and must see committed rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from minzheng.exchange.models import Counterparty
from minzheng.exchange.services import (
    Handler,
    counterparties_load,
    register_handler,
    registered_handler,
    unregister_handler,
)
from simulators import harness

SEED = 1
T = TypeVar("T")


@contextmanager
def handling(action: str, fn: Handler) -> Iterator[None]:
    """Have `fn` handle `action` for the duration; the handler registered before is put back after."""
    previous = registered_handler(action)
    register_handler(action, fn)
    try:
        yield
    finally:
        if previous is None:
            unregister_handler(action)
        else:
            register_handler(action, previous)


free_port = harness.free_port


@dataclass
class DepartmentSimulator(harness.SimulatorProcess):
    callback_base: str = ""

    def fault(self, dept: str, mode: str, *, delay_seconds: float = 0, delay_days: int = 3) -> None:
        self.call(
            "POST",
            "/admin/faults",
            {"dept": dept, "mode": mode, "delay_seconds": delay_seconds, "delay_days": delay_days},
        )

    def configure(self, dept: str, *, answer_days: int = 0, delay_seconds: float = 0) -> None:
        self.call(
            "POST",
            "/admin/config",
            {"dept": dept, "answer_days": answer_days, "delay_seconds": delay_seconds},
        )

    def callback_url(self, code: str) -> str:
        return f"{self.callback_base}/api/v1/exchange/{code}/callback"

    def transaction(self, dept: str, transaction_id: str) -> dict[str, Any] | None:
        for txn in self.state()["transactions"]:
            if txn["department"] == dept and txn["transaction_id"] == transaction_id:
                return txn  # type: ignore[no-any-return]
        return None


def wait_for(check: Callable[[], T | None], *, timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll `check` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"nothing after {timeout} s: {check}")
        time.sleep(interval)


def start_simulator(callback_base: str, log: Path, *, seed: int = SEED) -> DepartmentSimulator:
    process, url = harness.start_process(
        "department simulator",
        "simulators.departments",
        [
            "--callback-base",
            callback_base,
            "--seed",
            str(seed),
            # Answers leave at least this long after the acknowledgement: with SQLite's shared
            # in-memory test database the live server's thread and the test's use one
            # connection, so a callback must not arrive while the test still logs the ack.
            "--delay-seconds",
            "0.3",
            "--verbose",
        ],
        log,
    )
    return DepartmentSimulator("department simulator", url, process, log, callback_base)


def stop_simulator(simulator: DepartmentSimulator) -> None:
    simulator.stop()


@pytest.fixture(scope="session")
def department_simulator_process(
    live_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DepartmentSimulator]:
    """One simulator process per test session (per xdist worker), calling back the live server."""
    simulator = start_simulator(live_server.url, tmp_path_factory.mktemp("simulator") / "simulator.log")
    try:
        yield simulator
    finally:
        stop_simulator(simulator)


@pytest.fixture
def department_simulator(
    department_simulator_process: DepartmentSimulator, live_server: Any
) -> Iterator[DepartmentSimulator]:
    """The simulator, reset (no faults, clock at zero), its departments registered as counterparties."""
    simulator = department_simulator_process
    simulator.reset()
    if len(counterparties_load(url=simulator.url)) < 8 or not Counterparty.objects.exists():
        pytest.fail("the department simulator listed fewer departments than expected")
    try:
        yield simulator
    finally:
        simulator.reset()
