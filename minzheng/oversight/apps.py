from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "minzheng.oversight"
    label = "oversight"
    verbose_name = "基层民政服务能力"

    def ready(self) -> None:
        from minzheng.org import services as org
        from minzheng.oversight import guards

        if guards.pre_job_training_guard not in org.ROLE_GRANT_GUARDS:
            org.ROLE_GRANT_GUARDS.append(guards.pre_job_training_guard)
