from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "minzheng.feedback"
    label = "feedback"
    verbose_name = "群众诉求与服务评价"

    def ready(self) -> None:
        from minzheng.cases import services as cases
        from minzheng.core import recovery
        from minzheng.feedback import receipts, services

        cases.CLOSE_HOOKS.append(receipts.receipt_for_closed_case)
        recovery.register("feedback_deadlines", services.deadlines_sweep)
        recovery.register("feedback_hotline", services.hotline_sweep)
