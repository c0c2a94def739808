from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "minzheng.reports"
    label = "reports"
    verbose_name = "统计报表"

    def ready(self) -> None:
        from minzheng.core import recovery
        from minzheng.reports import services

        recovery.register("reports_statistics", services.statistics_sweep)
