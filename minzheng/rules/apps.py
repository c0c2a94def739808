from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "minzheng.rules"
    label = "rules"
    verbose_name = "规则与标准"
