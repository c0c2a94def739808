from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "minzheng.payments"
    label = "payments"
    verbose_name = "资金发放"

    def ready(self) -> None:
        from minzheng.core import recovery
        from minzheng.payments import tasks

        recovery.register("payroll_runs", tasks.recover_stuck_runs)
