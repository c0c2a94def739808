from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "minzheng.registry"
    label = "registry"
    verbose_name = "家庭档案"

    def ready(self) -> None:
        from minzheng.core import recovery
        from minzheng.registry import excel

        def sweep() -> int:
            report = excel.import_jobs_recover()
            return report.abandoned + report.expired + report.purged

        recovery.register("imports", sweep)
