from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_defaults(sender: AppConfig, **kwargs: Any) -> None:
    """Every migrate (and every test-database flush) brings the national default rules in."""
    from minzheng.monitoring.defaults import load_default_rules
    from minzheng.monitoring.models import WarningRule

    load_default_rules(WarningRule)


class MonitoringConfig(AppConfig):
    name = "minzheng.monitoring"
    label = "monitoring"
    verbose_name = "低收入人口动态监测"

    def ready(self) -> None:
        from minzheng.core import recovery
        from minzheng.monitoring import services

        recovery.register("monitoring_overdue_warnings", services.warnings_escalate)
        post_migrate.connect(_load_defaults, sender=self)
