from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "minzheng.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        # Connects the receivers that audit sign-ins, refused sign-ins and lockouts.
        from minzheng.core import auth_audit  # noqa: F401
