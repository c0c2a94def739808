"""The worker's sweep for stuck work: every app's sweep runs, one failing does not stop the others."""

from __future__ import annotations

import pytest

from minzheng.core import recovery


def test_the_apps_register_their_sweeps() -> None:
    assert {"payroll_runs", "imports"} <= set(recovery.sweeps())


@pytest.mark.django_db
def test_a_failing_sweep_is_logged_and_the_others_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def broken() -> int:
        raise RuntimeError("数据库暂时不可用")

    def fine() -> int:
        ran.append("fine")
        return 2

    monkeypatch.setattr(recovery, "_SWEEPS", {"a_broken": broken, "b_fine": fine})
    assert recovery.sweep_all() == {"a_broken": -1, "b_fine": 2}
    assert ran == ["fine"]
