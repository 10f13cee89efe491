-- Extensions the pipeline needs, its two schemas (private internals, ops for operators) and its
-- privilege policy.
-- Extensions the pipeline needs and the private schema that holds its internals.
-- `extensions` exists on hosted Supabase; locally scripts/local-stack creates it the same way.
create schema if not exists extensions;
create extension if not exists btree_gist with schema extensions;
-- pg_net carries the insert trigger's HTTP call. Hosted Supabase ships it; where it is not available (the
-- local stack) scripts/local-stack installs a stand-in with the same interface before migrations run.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end $$;

create schema if not exists private;
revoke all on schema private from public;
comment on schema private is
  'Internals of the table-assignment pipeline: helpers, triggers and the state-machine rules. Not exposed through the Data API.';
-- The operator's schema: functions and dashboards for people running the pipeline from Studio.
create schema if not exists ops;
revoke all on schema ops from public;
grant usage on schema ops to service_role;
comment on schema ops is 'Operator functions and dashboards for the assignment pipeline. Start with: select ops.health();';

-- Revoke by default, grant by name — for what the pipeline creates, and nothing else. The defaults below
-- cover only the pipeline's own schemas; in `public`, which the project's own app shares, every object of
-- ours revokes and grants by name instead, so the app's tables and functions keep the grants Supabase gives
-- them. Postgres' global default (PUBLIC may execute every new function) cannot be taken away per schema, so
-- each migration closes the routines it creates (`revoke … on all routines in schema private`, and by name
-- in `public` and `ops`).
alter default privileges in schema private, ops revoke all on tables from anon, authenticated;
alter default privileges in schema private, ops revoke all on sequences from anon, authenticated;
alter default privileges in schema private, ops revoke all on functions from anon, authenticated;
