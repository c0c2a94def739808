from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "minzheng.monitoring"
    label = "monitoring"
    verbose_name = "低收入人口动态监测"

    def ready(self) -> None:
        from minzheng.core import recovery
        from minzheng.monitoring import services

        recovery.register("monitoring_overdue_warnings", services.warnings_escalate)
