from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "minzheng.api"
    label = "api"
    verbose_name = "API"
