"""A simulated 12345 hotline platform (政务服务便民热线): it offers new work orders, takes Minzheng's
status reports (派单, 签收, 退单, 答复, 办结 …) and gives its own callback results (回访满意度).

Run: ``python -m simulators.hotline --port 8002 --client-key-url http://127.0.0.1:8000/api/v1/exchange/public-key --seed 1``.
Standard library only (plus `cryptography` and Minzheng's pure module `minzheng.exchange.envelope`);
nothing of Django, nothing of Minzheng's database. See server.py for the routes.
"""
