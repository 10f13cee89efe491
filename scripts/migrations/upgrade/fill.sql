-- Fills a database built from a release with bookings in every state a booking can rest in, through that
-- release's own RPCs, as the coordinator and ops would, and with what that release still let through that a
-- later migration repairs. Prints the fixture (which booking is which, the live lease, the pending
-- notifications, the repairs owed) as JSON for verify.sql. Runs as postgres, in autocommit, so each RPC is
-- its own transaction as it is through PostgREST.
--   psql -v release=1.2.0 -v releases='1.0.0 1.1.0 1.2.0 1.3.0 1.4.0 1.5.0 1.6.0 1.7.0 1.8.0 1.9.0 1.10.0 1.11.0 1.12.0 1.13.0 1.14.0 1.15.0 1.16.0 1.17.0 1.18.0 1.19.0' -f fill.sql   (every release, oldest first)
-- It is written against the API every release shares: when a release changes an RPC used here, this file
-- must still fill each earlier release (the upgrade test runs it on every one).
-- `assigned` is not a resting state through the RPCs (tables are written and confirmed in one transaction),
-- so no booking is left there.
\set ON_ERROR_STOP 1
\set QUIET 1
-- Results of the steps are not output; failures raise.
\o /dev/null

create function pg_temp.expect(p_ok boolean, p_what text) returns void language plpgsql as $$
begin
  if p_ok is not true then
    raise exception 'upgrade fill: expected %', p_what;
  end if;
end $$;

select set_config('upgrade.release', :'release', false) is not null as loaded \gset
select set_config('upgrade.releases', :'releases', false) is not null as loaded \gset
-- Whether the release filled is this one or an earlier one, by their order in supabase/releases.json.
create function pg_temp.release_at_most(p_release text) returns boolean language plpgsql as $$
declare
  releases text[] := pg_catalog.string_to_array(current_setting('upgrade.releases'), ' ');
  filled integer := pg_catalog.array_position(releases, current_setting('upgrade.release'));
  boundary integer := pg_catalog.array_position(releases, p_release);
begin
  if filled is null or boundary is null then
    raise exception 'upgrade fill: release % or % is not among the releases (%)',
      current_setting('upgrade.release'), p_release, current_setting('upgrade.releases');
  end if;
  return filled <= boundary;
end $$;
create temp table repairs (repair text primary key, restaurant uuid);

-- The lease and the deferral must outlast the upgrade (seconds to minutes), so they are lengthened, as an
-- operator could; a lease that expires during an upgrade is the sweeper's case, tested elsewhere.
update private.pipeline_settings set lease_seconds = 300, rate_limited_delay_ms = 3600000, max_deferral_seconds = 86400;

insert into public.restaurants (name, timezone) values ('Upgrade Bistro', 'UTC') returning id as rid \gset
insert into public.zones (restaurant_id, name) values (:'rid', 'Main');
insert into public.turn_time_policies (restaurant_id, min_party_size, max_party_size, dining_minutes, buffer_after_minutes)
values (:'rid', 1, 4, 90, 15);
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
select :'rid', 'All day', d, '11:00', '23:00' from generate_series(0, 6) d;
insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
select :'rid', z.id, 'T' || n, 4, 4 from public.zones z, generate_series(1, 12) n where z.restaurant_id = :'rid';
-- One booking in progress at a time, so a second one is deferred (rate limited) while the first holds its lease.
-- Written to the settings table directly, as the ops functions do, so a release without them can be filled.
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'rid', 1);

-- A breaker reset by hand, by an operator who typed an e-mail address and a phone number (1.0.0 kept them in
-- the settings audit as typed; verify.sql checks that none is left there, whichever release wrote it).
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now());
select pg_temp.expect(ops.reset_circuit_breaker(:'rid', 'ana@example.com', 'call +44 20 7946 0958 if it opens again')
  ->> 'outcome' = 'closed', 'the breaker to be reset by hand');
-- The kill switch pulled and released by an owner writing the row in Studio, with a phone number in the reason
-- (every release before 20261231340000 kept it as typed, in the row and in the audit's copies of the values).
update private.rollout_settings set kill_switch = true, kill_switch_reason = 'outage, call +44 20 7946 0958';
update private.rollout_settings set kill_switch = false, kill_switch_reason = null;

-- What a release let through and a later migration repairs, each written only into the releases before that
-- migration (it repairs rows once, as it runs), and named in the fixture so that verify.sql checks the repair.
select pg_temp.release_at_most('1.0.0') as until_1_0 \gset
select pg_temp.release_at_most('1.1.0') as until_1_1 \gset
\if :until_1_0
-- A dispatch timeout 20261231020000 raises to 5 s (the functions answer within 4 s).
update private.pipeline_settings set dispatch_timeout_ms = 2000;
insert into repairs values ('dispatch_timeout', null);
-- A breaker opened in the future (a caller's p_now through the Data API), on a restaurant of its own so the
-- first one's bookings run as usual.
insert into public.restaurants (name, timezone) values ('Upgrade Breaker', 'UTC') returning id as breaker_rid \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'breaker_rid', 'open', 5, now() + interval '100 years');
insert into repairs values ('breaker_in_the_future', :'breaker_rid');
\endif
-- Zone names Postgres lists but the engine's JavaScript refuses, where this machine's time zone data lists them
-- (newer distributions move posix/ to a legacy package; localtime is /etc/localtime, absent in some images).
select :'until_1_0'::boolean and exists (select 1 from pg_timezone_names where name = 'posix/Europe/London') as posix_zone \gset
select :'until_1_0'::boolean and exists (select 1 from pg_timezone_names where name = 'localtime') as localtime_zone \gset
\if :posix_zone
insert into public.restaurants (name, timezone) values ('Upgrade Posix Zone', 'posix/Europe/London') returning id as posix_rid \gset
insert into repairs values ('posix_zone', :'posix_rid');
\endif
\if :localtime_zone
insert into public.restaurants (name, timezone) values ('Upgrade Local Zone', 'localtime') returning id as localtime_rid \gset
insert into repairs values ('localtime_zone', :'localtime_rid');
\endif
\if :until_1_1
-- Retry waits 20261231090000 brings down to an hour.
update private.pipeline_settings set retry_base_ms = 5400000, retry_max_ms = 7200000;
insert into repairs values ('retry_waits', null);
\endif

-- Every booking is for two guests tomorrow at noon; each confirmation gets a table of its own.
create function pg_temp.book() returns uuid language sql as $$
  insert into public.bookings (restaurant_id, party_size, start_at)
  select r.id, 2, date_trunc('day', now()) + interval '1 day 12 hours' from public.restaurants r
   where r.name = 'Upgrade Bistro'
  returning id;
$$;
create function pg_temp.table_ids(p_numbers text[]) returns uuid[] language sql as $$
  select array_agg(t.id) from public.restaurant_tables t join public.restaurants r on r.id = t.restaurant_id
   where r.name = 'Upgrade Bistro' and t.table_number = any(p_numbers);
$$;

-- confirmed (twice: one stays, one is cancelled after the upgrade), each with a pending confirmation
select pg_temp.book() as confirmed \gset
select public.assignment_begin(:'confirmed') ->> 'lease_token' as lease \gset
select pg_temp.expect(public.assignment_commit(:'confirmed', :'lease', pg_temp.table_ids('{T1}'), 'upgrade_test')
  ->> 'outcome' = 'confirmed', 'the first booking to be confirmed');
select pg_temp.book() as confirmed_to_cancel \gset
select public.assignment_begin(:'confirmed_to_cancel') ->> 'lease_token' as lease \gset
select pg_temp.expect(public.assignment_commit(:'confirmed_to_cancel', :'lease', pg_temp.table_ids('{T2}'), 'upgrade_test')
  ->> 'outcome' = 'confirmed', 'the second booking to be confirmed');

-- manual_review: the engine found nothing that fits
select pg_temp.book() as manual_review \gset
select public.assignment_begin(:'manual_review') ->> 'lease_token' as lease \gset
select pg_temp.expect(public.assignment_fail(:'manual_review', :'lease', 'no_fit', 'no_fit: nothing free fits')
  ->> 'outcome' = 'manual_review', 'a no-fit to go to manual review');

-- cancelled
select pg_temp.book() as cancelled \gset
select public.cancel_booking(:'cancelled', 'guest cancelled', 'upgrade-test') is not null as done \gset

-- created, and capacity_verified (moved there through the Data API's transition RPC)
select pg_temp.book() as created \gset
select pg_temp.book() as capacity_verified \gset
select public.transition_assignment_state(:'capacity_verified', 'capacity_verified', 1) is not null as done \gset

-- assignment_pending after a failed attempt, waiting for its retry
select pg_temp.book() as pending \gset
select public.assignment_begin(:'pending') ->> 'lease_token' as lease \gset
select pg_temp.expect(public.assignment_fail(:'pending', :'lease', 'error', 'error: engine crashed')
  ->> 'outcome' = 'retry', 'a failed attempt to be retried');

-- assignment_in_progress with a live lease, holding the restaurant's only slot
select pg_temp.book() as in_progress \gset
select public.assignment_begin(:'in_progress') ->> 'lease_token' as in_progress_lease \gset

-- assignment_pending, deferred: no slot is free, so it waits until next_attempt_at
select pg_temp.book() as deferred \gset
select pg_temp.expect(public.assignment_begin(:'deferred') ->> 'outcome' = 'rate_limited', 'the deferred booking to be rate limited');
select pg_temp.expect(next_attempt_at > now() + interval '30 minutes' and deferred_since is not null,
                      'the deferred booking to wait well past the upgrade')
  from public.bookings where id = :'deferred';

select pg_temp.expect(count(*) = 2, 'two pending confirmations')
  from public.notification_outbox where status = 'pending';

\o
\pset tuples_only on
\pset format unaligned
select jsonb_build_object(
  'restaurant', :'rid', 'confirmed', :'confirmed', 'confirmed_to_cancel', :'confirmed_to_cancel',
  'manual_review', :'manual_review', 'cancelled', :'cancelled', 'created', :'created',
  'capacity_verified', :'capacity_verified', 'pending', :'pending', 'in_progress', :'in_progress',
  'in_progress_lease', :'in_progress_lease', 'deferred', :'deferred',
  'repairs', (select coalesce(jsonb_object_agg(repair, restaurant), '{}') from repairs),
  'outbox', (select jsonb_agg(id order by id) from public.notification_outbox where status = 'pending'));
