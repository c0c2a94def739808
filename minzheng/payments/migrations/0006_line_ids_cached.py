"""On PostgreSQL, each connection takes a payroll line's id from a block of 1,000 it keeps
(`CACHE 1000` on the id's identity sequence) rather than from the shared sequence one at a time:
a run writes a million lines per county, and the sequence's lock and log per id cost about a
tenth of the line COPY (bench/README.md). Ids stay unique; they are no longer consecutive across
connections (a block's unused ids are skipped), which nothing relies on: lines are ordered by
run, division and id, and found by id. SQLite is unchanged."""

from django.db import migrations

from minzheng.core.migrating import on_postgres

CACHED = "ALTER TABLE payments_payrollline ALTER COLUMN id SET CACHE 1000"
ONE_AT_A_TIME = "ALTER TABLE payments_payrollline ALTER COLUMN id SET CACHE 1"


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_line_uniqueness_by_payee")]

    operations = [on_postgres([CACHED], [ONE_AT_A_TIME])]
