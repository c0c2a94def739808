from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "minzheng.registry"
    label = "registry"
    verbose_name = "家庭档案"
