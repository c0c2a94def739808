from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "minzheng.payments"
    label = "payments"
    verbose_name = "资金发放"

    def ready(self) -> None:
        from minzheng.cases import services as cases
        from minzheng.core import recovery
        from minzheng.payments import orders, tasks

        recovery.register("payroll_runs", tasks.recover_stuck_runs)
        if orders.order_for_case not in cases.DECISION_HOOKS:
            cases.DECISION_HOOKS.append(orders.order_for_case)
