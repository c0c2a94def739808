from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "minzheng.org"
    label = "org"
    verbose_name = "组织机构"

    def ready(self) -> None:
        # Connects the lockout receiver (axes' user_locked_out revokes the account's API tokens).
        from minzheng.org import backends  # noqa: F401
