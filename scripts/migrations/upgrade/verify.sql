-- After the upgrade: every booking fill.sql left in flight still finishes through the current RPCs, the
-- notifications queued before the upgrade are still sent, and no table is double-booked.
--   psql -v fixture="$(fill.sql's output)" -f verify.sql
\set ON_ERROR_STOP 1
\set QUIET 1
-- Results of the steps are not output; failures raise.
\o /dev/null

select set_config('upgrade.fixture', :'fixture', false) is not null as loaded \gset
create function pg_temp.expect(p_ok boolean, p_what text) returns void language plpgsql as $$
begin
  if p_ok is not true then
    raise exception 'after the upgrade: expected %', p_what;
  end if;
end $$;
create function pg_temp.fixture(p_key text) returns text language sql as $$
  select current_setting('upgrade.fixture')::jsonb ->> p_key;
$$;
create function pg_temp.state(p_key text) returns text language sql as $$
  select assignment_state from public.bookings where id = pg_temp.fixture(p_key)::uuid;
$$;
create function pg_temp.table_ids(p_numbers text[]) returns uuid[] language sql as $$
  select array_agg(t.id) from public.restaurant_tables t
   where t.restaurant_id = pg_temp.fixture('restaurant')::uuid and t.table_number = any(p_numbers);
$$;
-- A booking that is not in progress goes through a whole attempt: begin, then commit on the given table.
create function pg_temp.assign(p_key text, p_table text) returns void language plpgsql as $$
declare
  began jsonb := public.assignment_begin(pg_temp.fixture(p_key)::uuid);
begin
  perform pg_temp.expect(began ->> 'outcome' = 'ready', p_key || ' to begin, got ' || began::text);
  perform pg_temp.expect(public.assignment_commit(pg_temp.fixture(p_key)::uuid, (began ->> 'lease_token')::uuid,
                                                  pg_temp.table_ids(array[p_table]), 'upgrade_test') ->> 'outcome' = 'confirmed',
                         p_key || ' to be confirmed on ' || p_table);
end $$;

-- The upgrade itself moved no booking.
select pg_temp.expect(pg_temp.state(k) = s, k || ' to still be ' || s || ', found ' || coalesce(pg_temp.state(k), 'nothing'))
  from (values ('created', 'created'), ('capacity_verified', 'capacity_verified'), ('pending', 'assignment_pending'),
               ('deferred', 'assignment_pending'), ('in_progress', 'assignment_in_progress'), ('confirmed', 'confirmed'),
               ('confirmed_to_cancel', 'confirmed'), ('manual_review', 'manual_review'), ('cancelled', 'cancelled')) v(k, s);

-- What the release wrote that later migrations repair: the settings audit keeps no e-mail address or phone
-- number, and each repair fill.sql owed (the release let it through) is made.
create function pg_temp.owed(p_repair text) returns boolean language sql as $$
  select current_setting('upgrade.fixture')::jsonb -> 'repairs' ? p_repair;
$$;
create function pg_temp.repaired_restaurant(p_repair text) returns uuid language sql as $$
  select (current_setting('upgrade.fixture')::jsonb -> 'repairs' ->> p_repair)::uuid;
$$;
select pg_temp.expect(count(*) = 0, 'no e-mail address or phone number left in the settings audit')
  from public.pipeline_settings_audit a
 where private.text_has_personal_data(a.actor) or private.text_has_personal_data(a.reason)
    or private.text_has_personal_data(a.database_role)
    or private.jsonb_has_personal_data(a.old_value) or private.jsonb_has_personal_data(a.new_value);
-- Each one owed is checked on the row it was written to (none found fails as a repair not made).
select pg_temp.expect(not pg_temp.owed('dispatch_timeout')
                      or (select dispatch_timeout_ms = 5000 from private.pipeline_settings),
                      'the 2 s dispatch timeout raised to 5 s');
select pg_temp.expect(not pg_temp.owed('breaker_in_the_future')
                      or (select bool_and(opened_at <= now()) from private.circuit_breakers
                           where restaurant_id = pg_temp.repaired_restaurant('breaker_in_the_future')),
                      'the breaker opened in the future to count from now');
select pg_temp.expect(not pg_temp.owed('posix_zone')
                      or (select timezone = 'Europe/London' from public.restaurants
                           where id = pg_temp.repaired_restaurant('posix_zone')),
                      'posix/Europe/London to be the same zone without posix/');
select pg_temp.expect(not pg_temp.owed('localtime_zone')
                      or (select timezone = 'UTC' from public.restaurants
                           where id = pg_temp.repaired_restaurant('localtime_zone')),
                      'localtime to be UTC');
select pg_temp.expect(not pg_temp.owed('retry_waits')
                      or (select retry_base_ms = 3600000 and retry_max_ms = 3600000 from private.pipeline_settings),
                      'the 1.5- and 2-hour retry waits brought down to an hour');
-- And every repair fill.sql owes is one checked above (a new or misspelt one would pass unchecked).
select pg_temp.expect(coalesce(array_agg(k), '{}') = '{}',
                      'every repair fill.sql owes to be checked here, not ' || coalesce(array_agg(k)::text, ''))
  from jsonb_object_keys(current_setting('upgrade.fixture')::jsonb -> 'repairs') k
 where k not in ('dispatch_timeout', 'breaker_in_the_future', 'posix_zone', 'localtime_zone', 'retry_waits');

-- The confirmations queued before the upgrade are claimed and sent.
create temp table claimed as select * from public.notification_claim(20);
select pg_temp.expect((select jsonb_agg(id order by id) from claimed) = pg_temp.fixture('outbox')::jsonb,
                      'exactly the pending notifications from before the upgrade to be claimed');
select pg_temp.expect(public.notification_complete(c.id, c.lease_token, true) = 'sent', 'notification ' || c.id || ' to be sent')
  from claimed c;

-- The deferred booking still waits: the due-work claim passes it over.
select pg_temp.expect(not (pg_temp.fixture('deferred')::uuid = any(public.assignment_claim_due(100, pg_temp.fixture('restaurant')::uuid))),
                      'the deferred booking not to be due yet');

-- The attempt in progress finishes with the lease it was given before the upgrade, freeing the slot.
select pg_temp.expect(public.assignment_commit(pg_temp.fixture('in_progress')::uuid, pg_temp.fixture('in_progress_lease')::uuid,
                                               pg_temp.table_ids('{T3}'), 'upgrade_test') ->> 'outcome' = 'confirmed',
                      'the booking in progress to commit with its lease');
select pg_temp.assign('deferred', 'T4');
select pg_temp.assign('created', 'T5');
select pg_temp.assign('capacity_verified', 'T6');
select pg_temp.assign('pending', 'T7');
select pg_temp.expect(ops.assign_tables(pg_temp.fixture('manual_review')::uuid, '{T8}', 'upgrade-test') ->> 'outcome' = 'confirmed',
                      'ops to assign the booking in manual review');
select pg_temp.expect(ops.cancel_booking(pg_temp.fixture('confirmed_to_cancel')::uuid, 'guest cancelled', 'upgrade-test') is not null
                      and pg_temp.state('confirmed_to_cancel') = 'cancelled', 'the confirmed booking to be cancelled');

select pg_temp.expect(pg_temp.state(k) = 'confirmed', k || ' to be confirmed')
  from unnest(array['confirmed', 'in_progress', 'deferred', 'created', 'capacity_verified', 'pending', 'manual_review']) k;
select pg_temp.expect(pg_temp.state('cancelled') = 'cancelled', 'the cancelled booking to stay cancelled');

-- Tables: each confirmed booking holds one, nothing else holds any, and no two active assignments overlap.
select pg_temp.expect(count(*) filter (where b.assignment_state = 'confirmed') = 7
                        and bool_and((b.assignment_state = 'confirmed') = (a.n = 1)),
                      'each of the 7 confirmed bookings, and nothing else, to hold one table')
  from public.bookings b
  cross join lateral (select count(*) n from public.booking_table_assignments x where x.booking_id = b.id and x.released_at is null) a
 where b.restaurant_id = pg_temp.fixture('restaurant')::uuid;
select pg_temp.expect(count(*) = 0, 'no table to be double-booked')
  from public.booking_table_assignments a
  join public.booking_table_assignments b
    on a.table_id = b.table_id and a.id < b.id and a.during && b.during
 where a.released_at is null and b.released_at is null;

-- Each booking's history is one unbroken chain of versions (1 is the insert), across the upgrade.
select pg_temp.expect(count(distinct h.version) = b.assignment_state_version - 1 and min(h.version) = 2
                        and max(h.version) = b.assignment_state_version,
                      'history rows for versions 2..' || b.assignment_state_version || ' of booking ' || b.id)
  from public.bookings b join public.booking_assignment_state_history h on h.booking_id = b.id
 where b.restaurant_id = pg_temp.fixture('restaurant')::uuid
 group by b.id, b.assignment_state_version;

-- The messages owed since the upgrade are queued and claimable too: 6 confirmations, and the cancellation of
-- the booking whose guest heard of it before the upgrade.
select pg_temp.expect(count(*) filter (where kind = 'booking_confirmed') = 6
                        and count(*) filter (where kind = 'booking_cancelled') = 1 and count(*) = 7,
                      '6 new confirmations and 1 cancellation to be claimable')
  from public.notification_claim(20);
