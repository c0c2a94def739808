from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "minzheng.cases"
    label = "cases"
    verbose_name = "受理与审核"

    def ready(self) -> None:
        from minzheng.cases import departments, notifications, services
        from minzheng.core import recovery

        if departments.may_act not in services.ACTOR_HOOKS:
            services.ACTOR_HOOKS.append(departments.may_act)
        # Text messages to online applicants that are due: new ones whose task was lost, failed ones
        # whose pause is over.
        recovery.register("cases_sms", notifications.sms_sweep)
