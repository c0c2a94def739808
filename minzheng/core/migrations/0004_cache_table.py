"""The shared cache table (`minzheng_cache`) for Django's database cache backend.

The public look-up limits and the per-account limit on revealing ID numbers count in Django's cache;
outside the test suite that is the database cache (settings.CACHES), so that every web process on
every host counts in one place. This is what `manage.py createcachetable` would create, frozen here
(the same three columns and index), so that `migrate` alone prepares a database and nothing extra
is needed in ./run or the deployment steps. Idempotent: an existing table is left alone.
"""

from django.db import migrations, models

TABLE = "minzheng_cache"


def create_cache_table(apps, schema_editor):
    connection = schema_editor.connection
    if TABLE in connection.introspection.table_names():
        return
    qn = connection.ops.quote_name
    fields: tuple[models.Field, ...] = (
        models.CharField(name="cache_key", max_length=255, unique=True, primary_key=True),
        models.TextField(name="value"),
        models.DateTimeField(name="expires", db_index=True),
    )
    columns = []
    for field in fields:
        column = f"{qn(field.name)} {field.db_type(connection=connection)} NOT NULL"
        columns.append(column + (" PRIMARY KEY" if field.primary_key else ""))
    schema_editor.execute(f"CREATE TABLE {qn(TABLE)} ({', '.join(columns)})")
    schema_editor.execute(f"CREATE INDEX {qn(TABLE + '_expires')} ON {qn(TABLE)} ({qn('expires')})")


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.connection.ops.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_table_owner")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
