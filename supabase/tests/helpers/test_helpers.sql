-- Fixtures shared by the pgTAP files. Installed by scripts/test before pg_prove runs (never by a
-- migration, so hosted projects do not get it). Each test file still rolls back everything it makes.
-- Only the owner and service_role may use them: the Data API roles get nothing, here as everywhere.
create schema if not exists tests;
revoke all on schema tests from public, anon, authenticated;
grant usage on schema tests to service_role;

-- pgTAP is created after the migrations, whose default privileges keep new functions closed to PUBLIC.
-- Tests that act as anon or authenticated still call pgTAP's assertions, so those roles get them by name.
grant execute on all functions in schema extensions to anon, authenticated, service_role;

-- A restaurant with one zone ("Main"), open every day 11:00–23:00 UTC, and turn times of
-- 90 min (1–4 guests), 120 min (5–8) and 150 min (9–20), each with a 15-minute buffer after.
create or replace function tests.create_restaurant(p_name text default 'Test Bistro')
returns uuid language plpgsql as $$
declare rid uuid;
begin
  insert into public.restaurants (name, timezone) values (p_name, 'UTC') returning id into rid;
  insert into public.zones (restaurant_id, name) values (rid, 'Main');
  insert into public.turn_time_policies (restaurant_id, min_party_size, max_party_size, dining_minutes, buffer_after_minutes)
  values (rid, 1, 4, 90, 15), (rid, 5, 8, 120, 15), (rid, 9, 20, 150, 15);
  insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
  select rid, 'All day', d, '11:00', '23:00' from generate_series(0, 6) d;
  return rid;
end $$;

create or replace function tests.zone_id(p_restaurant uuid, p_zone text default 'Main')
returns uuid language sql as $$
  select id from public.zones where restaurant_id = p_restaurant and name = p_zone;
$$;

create or replace function tests.add_table(p_restaurant uuid, p_number text, p_capacity integer, p_zone text default 'Main')
returns uuid language sql as $$
  insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
  values (p_restaurant, tests.zone_id(p_restaurant, p_zone), p_number, p_capacity, p_capacity)
  returning id;
$$;

create or replace function tests.create_booking(p_restaurant uuid, p_party integer, p_start timestamptz)
returns uuid language sql as $$
  insert into public.bookings (restaurant_id, party_size, start_at) values (p_restaurant, p_party, p_start)
  returning id;
$$;

-- Give a booking a table of its own for its whole window: a new table sized to the party in the
-- restaurant's first zone, so it never collides with the test's own tables. Returns the table id.
create or replace function tests.give_table(p_booking uuid)
returns uuid language plpgsql as $$
declare
  b public.bookings;
  t uuid;
begin
  select * into b from public.bookings where id = p_booking;
  insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
  values (b.restaurant_id, (select z.id from public.zones z where z.restaurant_id = b.restaurant_id order by z.created_at, z.id limit 1),
          'F-' || left(replace(gen_random_uuid()::text, '-', ''), 8), b.party_size, b.party_size)
  returning id into t;
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  values (b.id, b.restaurant_id, t, private.blocked_window(b), 'ops', 'tests');
  return t;
end $$;

-- Put a booking into a state to set up a test case, the legitimate way: walk the shortest chain of legal
-- transitions through the state machine's internal function (history, events, leases and due times
-- included), giving the booking a table first when the chain passes through a state that holds tables.
create or replace function tests.force_state(p_booking uuid, p_state text, p_reason text default 'test setup')
returns void language plpgsql as $$
declare
  b public.bookings;
  chain text[];
  step text;
begin
  select * into b from public.bookings where id = p_booking;
  if b.assignment_state = p_state then
    return;
  end if;
  with recursive walk(state, path) as (
    select b.assignment_state, array[]::text[]
    union all
    select t.to_state, w.path || t.to_state
      from walk w join private.assignment_state_transitions t on t.from_state = w.state
     where t.to_state <> all(w.path) and t.to_state <> b.assignment_state and cardinality(w.path) < 8
       -- Through review only to reach it: a booking set up as confirmed was never sent there.
       and (t.to_state <> 'manual_review' or t.to_state = p_state))
  select w.path into chain from walk w where w.state = p_state order by cardinality(w.path), w.path limit 1;
  if chain is null then
    raise exception 'no chain of legal transitions leads from % to %', b.assignment_state, p_state;
  end if;
  foreach step in array chain loop
    if private.state_holds_tables(step) and not exists (
         select 1 from public.booking_table_assignments a where a.booking_id = p_booking and a.released_at is null) then
      perform tests.give_table(p_booking);
    end if;
    perform private.apply_assignment_transition(p_booking, step, tests.version_of(p_booking), p_reason,
                                                '{}'::jsonb, 'tests.force_state');
  end loop;
end $$;

create or replace function tests.version_of(p_booking uuid)
returns integer language sql as $$
  select assignment_state_version from public.bookings where id = p_booking;
$$;

-- The SQLSTATE a statement fails with (null when it succeeds), run as the caller: for checks over many inputs,
-- where one throws_ok each would not say which input got through.
create or replace function tests.sqlstate_of(p_sql text)
returns text language plpgsql as $$
begin
  execute p_sql;
  return null;
exception when others then
  return sqlstate;
end $$;

-- The lease token in what assignment_lease or assignment_begin answered.
create or replace function tests.lease_token(p_answer jsonb)
returns uuid language sql as $$
  select (p_answer ->> 'lease_token')::uuid;
$$;

-- A booking the pipeline seated on the given table for its whole window (a hold the engine may move), confirmed.
create or replace function tests.confirmed_on(p_restaurant uuid, p_party integer, p_start timestamptz, p_table uuid)
returns uuid language plpgsql as $$
declare
  new_id uuid := tests.create_booking(p_restaurant, p_party, p_start);
begin
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, p_table, private.blocked_window(b), 'auto', 'coordinator' from public.bookings b
   where b.id = new_id;
  perform tests.force_state(new_id, 'confirmed');
  return new_id;
end $$;

-- What a booking holds now, over all its tables (released holds are history), as one range; null when nothing.
create or replace function tests.hold_of(p_booking uuid)
returns tstzrange language sql as $$
  select pg_catalog.range_merge(pg_catalog.range_agg(a.during)) from public.booking_table_assignments a
   where a.booking_id = p_booking and a.released_at is null;
$$;

-- The tables a booking holds now, by number ('T1+T2'); null when none.
create or replace function tests.tables_held(p_booking uuid)
returns text language sql as $$
  select pg_catalog.string_agg(t.table_number, '+' order by t.table_number)
    from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
   where a.booking_id = p_booking and a.released_at is null;
$$;

-- The stay a booking's tables must be held for: its window with its buffers.
create or replace function tests.stay_of(p_booking uuid)
returns tstzrange language sql as $$
  select private.blocked_window(b) from public.bookings b where b.id = p_booking;
$$;

-- Claim the guest messages due at p_at (as a dispatcher would, 100 at most, under a 60 s lease) and return
-- those of one booking.
create or replace function tests.claim_messages(p_booking uuid, p_at timestamptz default now())
returns table (id bigint, lease_token uuid, kind text) language sql as $$
  select c.id, c.lease_token, c.kind from public.notification_claim(100, 60000, p_at) c where c.booking_id = p_booking;
$$;

-- A booking's guest messages in order, each as "<kind> <status>".
create or replace function tests.message_statuses(p_booking uuid)
returns text[] language sql as $$
  select pg_catalog.array_agg(o.kind || ' ' || o.status order by o.seq) from public.notification_outbox o
   where o.booking_id = p_booking;
$$;

-- Every restaurant on V3, whatever earlier tests left: no deployment's flags heard, the rollout at 100 %, no
-- kill switch.
create or replace function tests.run_v3()
returns void language sql as $$
  update private.function_flags set mode_ceiling = null;
  update private.rollout_settings set default_mode = 'v3', rollout_percentage = 100, kill_switch = false;
$$;

-- What private.service_hours_problem says of a stay of the restaurant from p_start to p_end (a booking row made
-- in memory, nothing inserted).
create or replace function tests.service_hours_problem(p_restaurant uuid, p_start timestamptz, p_end timestamptz)
returns text language sql as $$
  select private.service_hours_problem(b)
    from (select (pg_catalog.jsonb_populate_record(null::public.bookings,
                   pg_catalog.jsonb_build_object('restaurant_id', p_restaurant, 'start_at', p_start, 'end_at', p_end)))
                 .*) b
$$;

-- p_waiting bookings queued at the restaurant, deferred 30 s ago and not yet due, the first the longest-waiting
-- (one an hour apart from 18:00 on 2030-07-01); returned in that order.
create or replace function tests.queue_bookings(p_restaurant uuid, p_waiting integer)
returns uuid[] language plpgsql as $$
declare
  b uuid;
  queued uuid[] := '{}';
begin
  for i in 1..p_waiting loop
    b := tests.create_booking(p_restaurant, 2, timestamptz '2030-07-01 17:00+00' + make_interval(hours => i));
    update public.bookings set deferred_since = now() - interval '30 seconds', next_attempt_at = now() + interval '1 minute',
                               created_at = now() - make_interval(secs => 100 - i)
     where id = b;
    queued := queued || b;
  end loop;
  return queued;
end $$;

-- Marks where pg_net's queue stands, so that tests.requests_since_mark counts only the requests sent after it.
create or replace function tests.mark_requests()
returns void language sql as $$
  select pg_catalog.set_config('test.mark', (select coalesce(max(id), 0)::text from net.http_request_queue), true);
$$;

-- Requests to the coordinator naming one of the bookings, sent since tests.mark_requests().
create or replace function tests.requests_since_mark(p_bookings uuid[])
returns integer language sql as $$
  select count(*)::int from net.http_request_queue q
   where q.id > pg_catalog.current_setting('test.mark')::bigint
     and (pg_catalog.convert_from(q.body, 'utf8')::jsonb ->> 'booking_id')::uuid = any(p_bookings);
$$;

-- Whether the coordinator, listing the reviews due for a re-seating search as service_role, lists the booking.
create or replace function tests.review_due(p_restaurant uuid, p_booking uuid)
returns boolean language plpgsql as $$
declare
  listed boolean;
begin
  set local role service_role;
  listed := p_booking = any(public.review_reseating_due(10, p_restaurant));
  reset role;
  return listed;
end $$;

-- Sequential scans of bookings in this transaction so far.
create or replace function tests.bookings_seq_reads()
returns bigint language sql as $$
  select seq_scan from pg_stat_xact_user_tables where relid = 'public.bookings'::regclass
$$;

-- For the rest of the transaction, every plan generic (as a cached one is) and a sequential read costing
-- nothing however large the table: every read of a table is then sequential unless the function forbids it.
create or replace function tests.make_seq_reads_cheap()
returns void language sql as $$
  select pg_catalog.set_config('seq_page_cost', '0', true), pg_catalog.set_config('cpu_tuple_cost', '0', true),
         pg_catalog.set_config('cpu_operator_cost', '0', true), pg_catalog.set_config('random_page_cost', '40', true),
         pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true);
$$;

-- Replaces private.phone_pattern for the rest of the transaction.
create or replace function tests.set_phone_pattern(p_pattern text)
returns void language plpgsql as $$
begin
  execute 'create or replace function private.phone_pattern() returns text language plpgsql immutable '
    || 'set search_path = '''' as $b$ begin return ' || pg_catalog.quote_literal(p_pattern) || '; end $b$';
end $$;

-- Rows stored as an older release stored them: for the rest of the transaction, or until
-- tests.restore_phone_pattern(), the phone pattern before 20261227100000, which let a number written in groups
-- that begin like a date (0045-12-34-56-78) and one glued to Tel. (Tel.2125550100) pass.
create or replace function tests.use_older_phone_pattern()
returns void language plpgsql as $$
begin
  perform pg_catalog.set_config('tests.phone_pattern', private.phone_pattern(), true);
  perform tests.set_phone_pattern('(?<![A-Za-z0-9_.+-])(?![0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])');
end $$;

-- The pattern tests.use_older_phone_pattern() replaced, back.
create or replace function tests.restore_phone_pattern()
returns void language sql as $$
  select tests.set_phone_pattern(pg_catalog.current_setting('tests.phone_pattern'));
$$;

revoke all on all functions in schema tests from public, anon, authenticated;
grant execute on all functions in schema tests to service_role;
