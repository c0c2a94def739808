"""The index that pays nobody twice by (month, payee, programme) instead of (month, programme,
payee): a month's lines have one programme or a few, so with the programme second every new line
was compared by its programme's text (a collation call) on its way down the index; with the payee
second, the text is compared only between the lines of one payee. Same uniqueness, same lookups
(`selectors.enrolment_lines` gives all three). Dropped and built again in the migration's
transaction (on PostgreSQL)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0004_lines_written_in_bulk'),
        ('registry', '0003_import_jobs'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='payrollline',
            name='payrollline_once_per_payee_programme_month',
        ),
        migrations.AddConstraint(
            model_name='payrollline',
            constraint=models.UniqueConstraint(condition=models.Q(('reissue_of__isnull', True)), fields=('month', 'payee', 'programme'), name='payrollline_once_per_payee_programme_month'),
        ),
    ]
