"""On PostgreSQL, enrolment pages are filled to 90% (`fillfactor`), leaving room on each page for
the new version of a row whose amount the payroll changes: such an update then stays on its page
and touches none of the table's eight indexes (a "HOT" update), where on a full page it moved the
row and added an entry to every index (a month's amount changes are written beside its lines,
bench/README.md). Pages written from now on are filled so; rows already stored get the room as
their pages are rewritten (VACUUM FULL). SQLite is unchanged."""

from django.db import migrations

from minzheng.core.migrating import on_postgres


def _fillfactor(percent: int) -> list[str]:
    return [f"ALTER TABLE payments_enrolment SET (fillfactor = {percent})"]


class Migration(migrations.Migration):
    dependencies = [("payments", "0006_line_ids_cached")]

    operations = [on_postgres(_fillfactor(90), _fillfactor(100))]
