"""On PostgreSQL, enrolment pages are filled to 90% (`fillfactor`), leaving room on each page for
the new version of a row whose amount the payroll changes: such an update then stays on its page
and touches none of the table's eight indexes (a "HOT" update), where on a full page it moved the
row and added an entry to every index (a month's amount changes are written beside its lines,
bench/README.md). Pages written from now on are filled so; rows already stored get the room as
their pages are rewritten (VACUUM FULL). SQLite is unchanged."""

from django.db import migrations


def _fillfactor(percent: int):
    def operation(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE payments_enrolment SET (fillfactor = {percent})")

    return operation


class Migration(migrations.Migration):
    dependencies = [("payments", "0006_line_ids_cached")]

    operations = [migrations.RunPython(_fillfactor(90), _fillfactor(100), elidable=False)]
