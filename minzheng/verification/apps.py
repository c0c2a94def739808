from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "minzheng.verification"
    label = "verification"
    verbose_name = "家庭经济状况核对"

    def ready(self) -> None:
        from minzheng.exchange import services as exchange
        from minzheng.verification import services

        exchange.register_handler("on-search", services.take_answer)
