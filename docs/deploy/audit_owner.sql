-- Hand the audit tables to a role of their own, so the application cannot rewrite them.
--
-- Run by the DBA as a superuser, after `manage.py migrate`, connected to the application's
-- database, with the application's role name as `app`:
--
--   psql -X -v ON_ERROR_STOP=1 -v app=minzheng -d minzheng -f docs/deploy/audit_owner.sql
--
-- Needed when the application's role has no CREATEROLE (the recommended set-up): migration
-- core 0003 then leaves the tables alone and says so. The statements are those of the migration.
-- Afterwards the application may SELECT and INSERT audit events and SELECT, INSERT and UPDATE the
-- one-row chain head, nothing else; `manage.py verify_audit_chain` reports the privileges it finds.
-- Safe to run again.

\set owner :app _audit_owner
BEGIN;
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') AS create_owner \gset
\if :create_owner
CREATE ROLE :"owner" NOLOGIN;
\endif
ALTER TABLE core_auditevent OWNER TO :"owner";
ALTER TABLE core_auditchainhead OWNER TO :"owner";
ALTER FUNCTION core_auditevent_append_only() OWNER TO :"owner";
REVOKE ALL ON core_auditevent, core_auditchainhead FROM :"app";
GRANT SELECT, INSERT ON core_auditevent TO :"app";
GRANT SELECT, INSERT, UPDATE ON core_auditchainhead TO :"app";
-- Nobody logs in as the owner or is its member; a member could act as the owner.
REVOKE :"owner" FROM :"app";
-- On PostgreSQL 15 and older a role with CREATEROLE can make itself a member of any role.
ALTER ROLE :"app" NOCREATEROLE;
COMMIT;
