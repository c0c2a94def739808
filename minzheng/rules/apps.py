from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_shipped_packs(sender: AppConfig, **kwargs: Any) -> None:
    """Every migrate (and every test-database flush) brings the shipped policy packs into the
    database; values already there are kept (see services.policy_packs_load)."""
    from minzheng.rules.services import policy_packs_load

    policy_packs_load(audit=False)


class RulesConfig(AppConfig):
    name = "minzheng.rules"
    label = "rules"
    verbose_name = "规则与标准"

    def ready(self) -> None:
        post_migrate.connect(_load_shipped_packs, sender=self)
