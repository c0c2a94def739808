"""The enrolments' change log, for the county copies a payroll run keeps between months
(`payments.snapshot`; PostgreSQL only: SQLite reads the enrolments whole).

payments_enrolmentlog gets a row (transaction id, enrolment id, time) for every enrolment
inserted, updated or deleted, whoever writes it: three statement-level triggers, each taking the
statement's rows from its transition table. payments_enrolmentlogstart holds one row: `since`, a
transaction id from which on the log has every change (set here, where the triggers start; raised
when old rows are pruned), and `epoch`, the times the enrolments were truncated (which no trigger
logs row by row). A copy read before `since`, or in an earlier epoch, is not used."""

from django.db import migrations

from minzheng.core.migrating import on_postgres

FORWARD = [
    """CREATE TABLE payments_enrolmentlog (
        xid BIGINT NOT NULL, enrolment_id BIGINT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    "CREATE INDEX payments_enrolmentlog_xid ON payments_enrolmentlog (xid)",
    "CREATE INDEX payments_enrolmentlog_at ON payments_enrolmentlog USING brin (at)",
    "CREATE TABLE payments_enrolmentlogstart (since BIGINT NOT NULL, epoch BIGINT NOT NULL)",
    "INSERT INTO payments_enrolmentlogstart (since, epoch) SELECT pg_current_xact_id()::text::bigint, 0",
    """CREATE FUNCTION payments_enrolment_logged() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE payments_enrolmentlogstart SET epoch = epoch + 1;
        ELSE
            INSERT INTO payments_enrolmentlog (xid, enrolment_id)
            SELECT pg_current_xact_id()::text::bigint, id FROM changed;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER enrolment_logged_insert AFTER INSERT ON payments_enrolment
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION payments_enrolment_logged()""",
    """CREATE TRIGGER enrolment_logged_update AFTER UPDATE ON payments_enrolment
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION payments_enrolment_logged()""",
    """CREATE TRIGGER enrolment_logged_delete AFTER DELETE ON payments_enrolment
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION payments_enrolment_logged()""",
    """CREATE TRIGGER enrolment_logged_truncate AFTER TRUNCATE ON payments_enrolment
    FOR EACH STATEMENT EXECUTE FUNCTION payments_enrolment_logged()""",
]
BACKWARD = [
    "DROP TRIGGER enrolment_logged_truncate ON payments_enrolment",
    "DROP TRIGGER enrolment_logged_delete ON payments_enrolment",
    "DROP TRIGGER enrolment_logged_update ON payments_enrolment",
    "DROP TRIGGER enrolment_logged_insert ON payments_enrolment",
    "DROP FUNCTION payments_enrolment_logged()",
    "DROP TABLE payments_enrolmentlogstart",
    "DROP TABLE payments_enrolmentlog",
]


class Migration(migrations.Migration):
    dependencies = [("payments", "0008_one_offs_queued")]

    operations = [on_postgres(FORWARD, BACKWARD)]
