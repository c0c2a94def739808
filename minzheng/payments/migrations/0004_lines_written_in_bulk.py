"""Lines written a million at a time: the re-issued line's reference without a database
constraint (an empty reference still queued a deferred trigger event per line), and on
PostgreSQL a run's lines are found through a BRIN index on the run: a run writes its lines
together, so they lie in consecutive pages, and a BRIN index costs next to nothing to keep while a
million lines are written, where a B-tree on the run took a fifth of the write (bench/README.md).
Ranges filled since the last summary are summarized by autovacuum (autosummarize); until then a
search reads them too. (Autovacuum drops such requests when lines come fast, so the payroll also
summarizes the new ranges once a run's lines are written: `payroll.summarize_run_index`.) SQLite keeps the B-tree the model declares."""

import django.db.models.deletion
from django.db import migrations, models

from minzheng.core.migrating import on_postgres

BRIN = (
    "CREATE INDEX payrollline_run ON payments_payrollline USING brin (run_id) "
    "WITH (pages_per_range = 32, autosummarize = on)"
)
BTREE = "CREATE INDEX payrollline_run ON payments_payrollline (run_id)"


def _replace(create: str) -> list[str]:
    return ["DROP INDEX IF EXISTS payrollline_run", create]


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_line_indexes_by_payee")]

    operations = [
        migrations.AlterField(
            model_name="payrollline",
            name="reissue_of",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reissues",
                to="payments.payrollline",
            ),
        ),
        on_postgres(_replace(BRIN), _replace(BTREE)),
    ]
