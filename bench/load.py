"""Benchmark: staff using the system at once — 50 simulated staff for 10 minutes against gunicorn on
PostgreSQL with 20,000 demo households.

    .venv/bin/python bench/load.py                       # 50 staff, 10 minutes, 20,000 households
    .venv/bin/python bench/load.py --users 20 --minutes 2 --reuse

The database (default postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_load; its name must
contain "bench") is dropped and recreated, migrated and filled by `manage.py demo_data --households
N` (the demo's two districts, its accounts, cases and payroll), unless --reuse. gunicorn serves it
(`--workers`, default 4, as README's deployment) in demo mode (DEBUG off, the demo's secrets), on
this machine, beside the load.

Each simulated staff member is a thread with a session of its own: it signs in through the login
page (CSRF as a browser does), then, until the time is up, picks a task by weight — the worklist,
a case list or case page, a household search or household page, the enrolments, the payroll runs,
a run page and its lines, API reads of households, cases and runs — waits 1-3 s between clicks as a
person does, and records each response's time and status. The accounts are the demo's county,
township and village staff, several sessions each.

Reported: requests, errors (any status but 200, any exception), throughput and the 50th, 95th and
99th percentile and maximum response time, overall and per task. Figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
from benchdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://minzheng:minzheng@127.0.0.1:5432/minzheng_bench_load"
# Demo accounts (minzheng.demo.services) and how many simulated staff use each.
ACCOUNTS = {
    "dwk_county_admin": 6,
    "dwk_county_reviewer": 8,
    "dwk_county_approver": 6,
    "dwk_township_clerk": 10,
    "dwk_township_reviewer": 10,
    "dwk_village_assistant": 10,
}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LINK = {
    "household": re.compile(r'href="/households/(\d+)/"'),
    "case": re.compile(r'href="/cases/(\d+)/"'),
    "run": re.compile(r'href="/payments/runs/(\d+)/"'),
}
SURNAMES = "王李张刘陈杨马"
# Accounts whose roles see payments (PAYMENT_VIEW): the county's; township and village staff do not.
PAYMENT_ACCOUNTS = {"dwk_county_admin", "dwk_county_reviewer", "dwk_county_approver"}


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, task: str, seconds: float, problem: str | None) -> None:
        with self.lock:
            self.times[task].append(seconds)
            if problem:
                self.errors[task].append(problem)


class Staff:
    """One simulated member of staff: a session, the ids it has seen, its tasks."""

    def __init__(self, base: str, username: str, password: str, results: Results, rng: random.Random) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = "zh-hans"
        self.username = username
        self.password = password
        self.results = results
        self.rng = rng
        self.seen: dict[str, list[str]] = defaultdict(list)

    def get(self, task: str, path: str, **params: str) -> str:
        started = time.perf_counter()
        problem = None
        text = ""
        try:
            response = self.session.get(self.base + path, params=params, timeout=30, allow_redirects=False)
            text = response.text
            if response.status_code != 200:
                problem = f"{response.status_code} {path}"
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__} {path}"
        self.results.record(task, time.perf_counter() - started, problem)
        for kind, pattern in LINK.items():
            found = pattern.findall(text)
            if found:
                self.seen[kind] = found[:50]
        return text

    def sign_in(self) -> None:
        page = self.session.get(self.base + "/login/", timeout=30).text
        token = CSRF.search(page)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        started = time.perf_counter()
        response = self.session.post(
            self.base + "/login/",
            data={
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Referer": self.base + "/login/"},
            timeout=30,
            allow_redirects=False,
        )
        problem = None if response.status_code == 302 else f"login {response.status_code}"
        self.results.record("login", time.perf_counter() - started, problem)

    def pick(self, kind: str) -> str | None:
        ids = self.seen.get(kind)
        return self.rng.choice(ids) if ids else None

    def one_task(self) -> None:
        tasks = [
            (3, lambda: self.get("worklist", "/worklist/")),
            (2, lambda: self.get("case list", "/cases/")),
            (3, lambda: self._detail("case page", "case", "/cases/{}/", "/cases/")),
            (3, lambda: self.get("household search", "/households/", q=self.rng.choice(SURNAMES))),
            (4, lambda: self._detail("household page", "household", "/households/{}/", "/households/")),
            (2, lambda: self.get("api households", "/api/v1/households", search=self.rng.choice(SURNAMES))),
            (2, lambda: self.get("api cases", "/api/v1/cases")),
        ]
        if self.username in PAYMENT_ACCOUNTS:
            tasks += [
                (2, lambda: self.get("enrolments", "/payments/enrolments/")),
                (2, lambda: self.get("payroll runs", "/payments/runs/")),
                (2, lambda: self._detail("payroll run page", "run", "/payments/runs/{}/", "/payments/runs/")),
                (
                    2,
                    lambda: self._detail(
                        "payroll lines", "run", "/payments/runs/{}/lines/", "/payments/runs/"
                    ),
                ),
                (2, lambda: self.get("api runs", "/api/v1/payments/runs")),
            ]
        weights = [w for w, _ in tasks]
        self.rng.choices([t for _, t in tasks], weights=weights)[0]()

    def _detail(self, task: str, kind: str, pattern: str, listing: str) -> None:
        chosen = self.pick(kind)
        if chosen is None:
            self.get(task.split()[0] + " list", listing)
            chosen = self.pick(kind)
        if chosen is not None:
            self.get(task, pattern.format(chosen))

    def run(self, until: float) -> None:
        self.sign_in()
        while time.monotonic() < until:
            self.one_task()
            time.sleep(self.rng.uniform(1.0, 3.0))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(results: Results, seconds: float) -> None:
    # Signing in is once a session and slow on purpose (PBKDF2, 1,000,000 iterations): apart.
    every = [t for task, times in results.times.items() if task != "login" for t in times]
    errors = sum(len(e) for e in results.errors.values())
    print(f"\n{len(every):,} requests in {seconds:.0f} s ({len(every) / seconds:.1f}/s), {errors} errors")
    print(f"{'task':<20} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    rows = sorted(results.times.items(), key=lambda kv: -len(kv[1]))
    for task, times in [("all but sign-in", every), *rows]:
        if not times:
            continue
        errs = errors if task == "all but sign-in" else len(results.errors.get(task, []))
        print(
            f"{task:<20} {len(times):>6} {statistics.median(times) * 1e3:>8.0f} "
            f"{percentile(times, 0.95) * 1e3:>8.0f} {percentile(times, 0.99) * 1e3:>8.0f} "
            f"{max(times) * 1e3:>8.0f} {errs:>7}"
        )
    for task, problems in results.errors.items():
        print(f"  {task}: {problems[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true", help="keep the database an earlier run filled")
    args = parser.parse_args()

    env = {**os.environ, "DATABASE_URL": args.database_url, "MINZHENG_MODE": "demo"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    if not args.reuse:
        fresh_database(args.database_url)
        started = time.perf_counter()
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True, cwd=ROOT)  # noqa: S603
        subprocess.run(  # noqa: S603 (our own manage.py)
            [*manage, "demo_data", "--households", str(args.households)], env=env, check=True, cwd=ROOT
        )
        print(f"database filled in {time.perf_counter() - started:.0f} s", flush=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "--verbosity", "0"], env=env, check=True, cwd=ROOT)  # noqa: S603
    # The demo accounts' password, as minzheng/demo/services.py sets it (and demo_data prints it).
    source = (ROOT / "minzheng/demo/services.py").read_text(encoding="utf-8")
    found = re.search(r'^DEMO_PASSWORD = "([^"]+)"', source, re.M)
    if found is None:
        raise RuntimeError("DEMO_PASSWORD not found in minzheng/demo/services.py")
    password = found.group(1)

    server = subprocess.Popen(  # noqa: S603 (gunicorn from this virtualenv)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stderr=(ROOT / "var" / "bench-load-gunicorn.log").open("wb"),
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                if requests.get(base + "/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        results = Results()
        accounts = [name for name, count in ACCOUNTS.items() for _ in range(count)]
        staff = [
            Staff(base, accounts[i % len(accounts)], password, results, random.Random(i))
            for i in range(args.users)
        ]
        started = time.monotonic()
        until = started + args.minutes * 60
        threads = []
        for member in staff:  # a ramp of ten seconds, as people sign in
            thread = threading.Thread(target=member.run, args=(until,), daemon=True)
            thread.start()
            threads.append(thread)
            time.sleep(10.0 / max(1, args.users))
        for thread in threads:
            thread.join()
        report(results, time.monotonic() - started)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    print(f"machine: {os.cpu_count()} cores; gunicorn workers {args.workers}; households {args.households:,}")


if __name__ == "__main__":
    main()
