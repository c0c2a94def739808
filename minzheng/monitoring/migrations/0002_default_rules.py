"""The national default warning rules at the first migrate (the same list is brought in again after
every migrate and test-database flush by MonitoringConfig; see minzheng/monitoring/defaults.py)."""

from django.db import migrations


def load(apps, schema_editor):  # noqa: ANN001, ARG001
    from minzheng.monitoring.defaults import load_default_rules

    load_default_rules(apps.get_model("monitoring", "WarningRule"))


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
