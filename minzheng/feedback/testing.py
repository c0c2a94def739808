"""Test support: the hotline-platform simulator as a real process (pytest fixture), and ticket helpers.

    def test_something(hotline_simulator: HotlineSimulator) -> None:
        hotline_simulator.offer(category_code="100101", title="…", content="…")
        services.hotline_pull(actor=desk)

Minzheng calls the platform, never the other way round, so these tests need no live server: the
simulator is given Minzheng's public key through its admin interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from minzheng.exchange import keys
from minzheng.feedback import services
from minzheng.feedback.models import HotlinePlatform
from simulators import harness

SEED = 1


@dataclass
class HotlineSimulator(harness.SimulatorProcess):
    def offer(self, **fields: Any) -> dict[str, Any]:
        """A new work order on the platform (what a call to 12345 would create)."""
        return self.call("POST", "/admin/orders", fields)  # type: ignore[no-any-return]

    def evaluate(self, order_no: str, score: int, comment: str = "") -> dict[str, Any]:
        """The platform's own callback of a replied order."""
        return self.call("POST", f"/admin/orders/{order_no}/evaluate", {"score": score, "comment": comment})  # type: ignore[no-any-return]

    def fault(self, mode: str) -> None:
        self.call("POST", "/admin/faults", {"mode": mode})

    def order(self, order_no: str) -> dict[str, Any]:
        for order in self.state()["orders"]:
            if order["order_no"] == order_no:
                return order  # type: ignore[no-any-return]
        raise KeyError(order_no)


def start_hotline(log: Any, *, seed: int = SEED) -> HotlineSimulator:
    process, url = harness.start_process(
        "hotline simulator", "simulators.hotline", ["--seed", str(seed), "--verbose"], log
    )
    return HotlineSimulator("hotline simulator", url, process, log)


@pytest.fixture(scope="session")
def hotline_simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotlineSimulator]:
    simulator = start_hotline(tmp_path_factory.mktemp("hotline") / "hotline.log")
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def hotline_simulator(hotline_simulator_process: HotlineSimulator, tree: Any) -> Iterator[HotlineSimulator]:
    """The simulator, reset, knowing Minzheng's key; registered as the hotline platform of 大武口区
    (needs the test division tree)."""
    simulator = hotline_simulator_process
    simulator.reset()
    simulator.call("POST", "/admin/client-key", {"public_key_pem": keys.public_key_pem()})
    services.hotline_connect(actor=None, url=simulator.url, default_division_code="640202000000")
    if HotlinePlatform.objects.filter(active=True).count() != 1:
        pytest.fail("the hotline platform was not registered")
    try:
        yield simulator
    finally:
        simulator.reset()
