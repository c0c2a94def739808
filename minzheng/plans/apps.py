from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_plans(sender: AppConfig, **kwargs: Any) -> None:
    """Every migrate (and every test-database flush) brings the plan's indicators in."""
    from minzheng.plans.definitions import load_plans
    from minzheng.plans.models import Indicator, Plan

    load_plans(Plan, Indicator)


class PlansConfig(AppConfig):
    name = "minzheng.plans"
    label = "plans"
    verbose_name = "规划指标"

    def ready(self) -> None:
        post_migrate.connect(_load_plans, sender=self)
