from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "minzheng.verification"
    label = "verification"
    verbose_name = "家庭经济状况核对"

    def ready(self) -> None:
        from minzheng.cases import services as cases
        from minzheng.core import recovery
        from minzheng.exchange import services as exchange
        from minzheng.verification import guards, services

        exchange.register_handler("on-search", services.take_answer)
        cases.GUARD_HOOKS["verification_report_issued"] = guards.report_issued
        recovery.register("verification_queries", services.sweep)
