"""Simulated departments for economic-status verification (核对): public security, tax, social
insurance, real estate, vehicles, market regulation, housing provident fund and a bank.

Run: ``python -m simulators.departments --port 8001 --callback-base http://127.0.0.1:8000 --seed 1``.
Standard library only (plus `cryptography` and Minzheng's pure modules `minzheng.exchange.envelope`
and `minzheng.core.identifiers`); nothing of Django, nothing of Minzheng's database.
See server.py for the routes and data.py for what each department holds.
"""
