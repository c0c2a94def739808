"""One-offs (back pay, recoveries) settled without updating their change rows: the pending ones in
a queue (`PendingOneOff`, a row deleted when settled), the settled ones with their run
(`OneOffSettlement`). Before, each settlement updated `EnrolmentChange.settled_in`, which, being
indexed and in the pending index's predicate, added an entry to each of the history's indexes
(bench/README.md). The existing rows move over; the reverse puts them back."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = [
    """INSERT INTO payments_oneoffsettlement (change_id, run_id, enrolment_id, amount)
    SELECT id, settled_in_id, enrolment_id, one_off_amount FROM payments_enrolmentchange
    WHERE settled_in_id IS NOT NULL""",
    """INSERT INTO payments_pendingoneoff (change_id, county, enrolment_id, effective_month, amount)
    SELECT c.id, SUBSTR(e.division_id, 1, 6), c.enrolment_id, c.effective_month, c.one_off_amount
    FROM payments_enrolmentchange c JOIN payments_enrolment e ON e.id = c.enrolment_id
    WHERE c.settled_in_id IS NULL AND NOT (c.one_off_amount = 0)""",
]
REVERSE = [
    """UPDATE payments_enrolmentchange SET settled_in_id = (
        SELECT s.run_id FROM payments_oneoffsettlement s WHERE s.change_id = payments_enrolmentchange.id)
    WHERE id IN (SELECT change_id FROM payments_oneoffsettlement)""",
]


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_enrolment_room_for_updates"),
    ]

    operations = [
        migrations.CreateModel(
            name="OneOffSettlement",
            fields=[
                (
                    "change",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="settlement",
                        serialize=False,
                        to="payments.enrolmentchange",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.payrollrun",
                    ),
                ),
                (
                    "enrolment",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.enrolment",
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="一次性补发/扣减金额")),
            ],
        ),
        migrations.CreateModel(
            name="PendingOneOff",
            fields=[
                (
                    "change",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="payments.enrolmentchange",
                    ),
                ),
                ("county", models.CharField(db_index=True, max_length=6, verbose_name="县（区）代码")),
                (
                    "enrolment",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.enrolment",
                    ),
                ),
                ("effective_month", models.DateField(verbose_name="生效月份")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="一次性补发/扣减金额")),
            ],
        ),
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.RemoveIndex(
            model_name="enrolmentchange",
            name="change_pending_one_off",
        ),
        migrations.RemoveField(
            model_name="enrolmentchange",
            name="settled_in",
        ),
    ]
