"""A child's orphan or unsupported status (registry ChildStatus) changes what the rules give: a change
marks the person's facts stale like any other circumstance, so the next payroll run recalculates the
household (rules.summary, payments.payroll)."""

from django.db import migrations

from minzheng.rules.summary import _pg_trigger, _sqlite_trigger

TABLE = "registry_childstatus"


def create_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    make = _pg_trigger if vendor == "postgresql" else _sqlite_trigger
    for statement in make(TABLE, "person_id", "person_id"):
        schema_editor.execute(statement)


def drop_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS rules_stale_{TABLE}() CASCADE")
    else:
        for op in "iud":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS rules_stale_{TABLE}_{op}")


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0005_indexes_for_the_payroll_recalculation"),
        ("registry", "0005_child_status"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
