from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "minzheng.cases"
    label = "cases"
    verbose_name = "受理与审核"

    def ready(self) -> None:
        from minzheng.cases import departments, services

        if departments.may_act not in services.ACTOR_HOOKS:
            services.ACTOR_HOOKS.append(departments.may_act)
