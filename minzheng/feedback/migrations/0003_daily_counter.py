"""One counter per numbering and day (DailyCounter): the ticket counter keeps its rows (name "ticket"),
and the grid events numbered so far (WG-YYYYMMDD-NNNNNN, by counting) seed the "grid" counter of
their day, so the next number continues after the highest one given out."""

from django.db import migrations, models


def seed_grid_counters(apps, schema_editor):
    GridEvent = apps.get_model("feedback", "GridEvent")
    DailyCounter = apps.get_model("feedback", "DailyCounter")
    last: dict[str, int] = {}
    for number in GridEvent.objects.filter(number__startswith="WG-").values_list("number", flat=True):
        parts = number.split("-")
        if len(parts) == 3 and parts[1].isdigit() and len(parts[1]) == 8 and parts[2].isdigit():
            last[parts[1]] = max(last.get(parts[1], 0), int(parts[2]))
    DailyCounter.objects.bulk_create(
        [DailyCounter(name="grid", day=f"{d[:4]}-{d[4:6]}-{d[6:]}", last=n) for d, n in sorted(last.items())]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0002_grid"),
    ]

    operations = [
        migrations.RenameModel("TicketCounter", "DailyCounter"),
        migrations.AddField(
            model_name="dailycounter",
            name="name",
            field=models.CharField(default="ticket", max_length=20),
        ),
        migrations.AlterField(
            model_name="dailycounter",
            name="day",
            field=models.DateField(),
        ),
        migrations.AddConstraint(
            model_name="dailycounter",
            constraint=models.UniqueConstraint(fields=("name", "day"), name="daily_counter_one_per_day"),
        ),
        migrations.RunPython(seed_grid_counters, migrations.RunPython.noop),
    ]
