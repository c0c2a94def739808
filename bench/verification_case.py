"""Benchmark: one case's verification, from sending the request to the issued report, against the
department simulator (its own process, eight departments) calling back a live server.

    DATABASE_URL=postgres://minzheng:minzheng@127.0.0.1:5432/minzheng \\
        .venv/bin/python -m pytest bench/verification_case.py -p no:randomly -s -q

pytest is only the harness here (a test database, the live server, the simulator process: the
fixtures the suite uses); nothing is asserted about time. For each of `ROUNDS` fresh dibao cases
(two members, both authorisations signed), timed: `services.request_send` to every department, the
seven API departments' signed callbacks taken by the live server, the bank's result file fetched
(`services.collect`, as the worker's sweep does), every discrepancy accepted, the report issued.
The simulator holds each answer 0.3 s after its acknowledgement (`exchange.testing.start_simulator`).
Prints each round and the median and worst.
"""

from __future__ import annotations

import statistics
import time

import pytest
from django.utils import timezone

from minzheng.exchange.testing import DepartmentSimulator, department_simulator, department_simulator_process
from minzheng.org.models import Staff
from minzheng.verification import services
from minzheng.verification.models import Disposition, QueryStatus, RequestStatus, VerificationRequest
from minzheng.verification.tests.test_verification import dibao_case, sign_all, staff

__all__ = ["department_simulator", "department_simulator_process", "staff"]
ROUNDS = 10


def _settle(request_id: int, deadline: float) -> VerificationRequest:
    """Wait for the API departments' callbacks, then fetch the bank's file as the sweep would."""
    while time.monotonic() < deadline:
        request = VerificationRequest.objects.get(pk=request_id)
        waiting = request.queries.exclude(status__in=services.FINAL)
        if not waiting.exists():
            return request
        for query in waiting.filter(status=QueryStatus.ACKNOWLEDGED, counterparty="bank"):
            services.collect(query_id=query.pk)
        time.sleep(0.02)
    raise SystemExit(f"request {request_id} not answered in time")


@pytest.mark.django_db(transaction=True)
def test_one_case_from_request_to_report(
    staff: dict[str, Staff], department_simulator: DepartmentSimulator
) -> None:
    rounds = []
    site = department_simulator.callback_base
    for n in range(ROUNDS):
        case, household = dibao_case(staff)
        sign_all(staff, case, household)
        started = time.perf_counter()
        request = services.request_send(actor=staff["county"], case_id=case.pk, site=site)
        answered_at = time.perf_counter()
        request = _settle(request.pk, time.monotonic() + 60)
        settled = time.perf_counter()
        for finding in request.findings.filter(discrepancy=True):
            services.finding_dispose(
                actor=staff["county"], finding_id=finding.pk, disposition=Disposition.ACCEPTED, note="属实"
            )
        report = services.report_issue(actor=staff["county"], request_id=request.pk)
        done = time.perf_counter()
        request.refresh_from_db()
        if request.status != RequestStatus.REPORTED:
            raise SystemExit("the report was not issued")
        rounds.append(done - started)
        print(
            f"round {n + 1}: sent {answered_at - started:.2f} s, all answered {settled - started:.2f} s, "
            f"report {report.number} issued {done - started:.2f} s, "
            f"{request.findings.count()} findings on {timezone.localdate()}"
        )
    print(
        f"\none case, request to report: median {statistics.median(rounds):.2f} s, worst {max(rounds):.2f} s"
    )
