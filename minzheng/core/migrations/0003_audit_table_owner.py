"""On PostgreSQL, hand the audit tables to a role of their own, so the application cannot rewrite them.

The application's role owned `core_auditevent`, and a table's owner may disable its triggers, so
the append-only trigger of 0002 held only against the ORM. Here the tables and the trigger
function pass to `<app role>_audit_owner` (NOLOGIN, nobody a member); the application keeps
SELECT and INSERT on the events and SELECT, INSERT, UPDATE on the one-row chain head. It can no
longer UPDATE, DELETE or TRUNCATE events, nor ALTER, DISABLE or replace the trigger.

Changing a table's owner needs membership of the new owner, which only a role with CREATEROLE
(or a superuser) can grant itself: when the connecting role has it, this migration creates the
owner role, makes itself a member for the transaction's length and leaves again. Otherwise it does
nothing but say so, and the DBA runs docs/deploy/audit_owner.sql (the same statements) as a
superuser after `migrate`. A role that keeps CREATEROLE on PostgreSQL 15 or older could make
itself a member again: README's deployment section says to drop it after the first migration,
and `verify_audit_chain` reports it.

The SQL is frozen here, not imported, so later edits to live code never change this migration.
Later migrations that alter the audit tables must be run by the DBA (the app is not their owner).
"""

from django.db import migrations

HAND_OVER = r"""
DO $$
DECLARE
    app name := current_user;
    owner name := current_user || '_audit_owner';
    may_grant boolean;
BEGIN
    SELECT rolcreaterole OR rolsuper INTO may_grant FROM pg_roles WHERE rolname = current_user;
    IF (SELECT tableowner FROM pg_tables
        WHERE schemaname = current_schema() AND tablename = 'core_auditevent') = owner THEN
        RETURN;
    END IF;
    IF NOT may_grant THEN
        RAISE WARNING 'audit tables stay owned by %: without CREATEROLE the handover to % is the '
            'DBA''s (docs/deploy/audit_owner.sql)', app, owner;
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', owner);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created already (another database of this cluster, or a concurrent migration)
    END;
    EXECUTE format('GRANT %I TO %I', owner, app);
    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', current_schema(), owner);
    EXECUTE format('ALTER TABLE core_auditevent OWNER TO %I', owner);
    EXECUTE format('ALTER TABLE core_auditchainhead OWNER TO %I', owner);
    EXECUTE format('ALTER FUNCTION core_auditevent_append_only() OWNER TO %I', owner);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', current_schema(), owner);
    EXECUTE format('REVOKE ALL ON core_auditevent, core_auditchainhead FROM %I', app);
    EXECUTE format('GRANT SELECT, INSERT ON core_auditevent TO %I', app);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON core_auditchainhead TO %I', app);
    EXECUTE format('REVOKE %I FROM %I', owner, app);
END
$$;
"""

TAKE_BACK = r"""
DO $$
DECLARE
    app name := current_user;
    owner name := (SELECT tableowner FROM pg_tables
                   WHERE schemaname = current_schema() AND tablename = 'core_auditevent');
BEGIN
    IF owner IS NULL OR owner = app THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT %I TO %I', owner, app);
    EXECUTE format('ALTER TABLE core_auditevent OWNER TO %I', app);
    EXECUTE format('ALTER TABLE core_auditchainhead OWNER TO %I', app);
    EXECUTE format('ALTER FUNCTION core_auditevent_append_only() OWNER TO %I', app);
    EXECUTE format('REVOKE %I FROM %I', owner, app);
END
$$;
"""


def hand_over(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(HAND_OVER, params=None)


def take_back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TAKE_BACK, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_chain_head_and_guard")]

    operations = [migrations.RunPython(hand_over, take_back, elidable=False)]
