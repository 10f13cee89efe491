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

-- Put a booking straight into a state, bypassing the transition rules, to set up a test case.
create or replace function tests.force_state(p_booking uuid, p_state text, p_reason text default 'test setup')
returns void language plpgsql as $$
begin
  perform set_config('private.transitioning_booking', p_booking::text, true);
  update public.bookings
     set assignment_state = p_state,
         status = case p_state when 'cancelled' then 'cancelled' when 'confirmed' then 'confirmed' else 'pending' end,
         manual_review_reason = case when p_state = 'manual_review' then p_reason end
   where id = p_booking;
  perform set_config('private.transitioning_booking', '', true);
end $$;

create or replace function tests.version_of(p_booking uuid)
returns integer language sql as $$
  select assignment_state_version from public.bookings where id = p_booking;
$$;

revoke all on all functions in schema tests from public, anon, authenticated;
grant execute on all functions in schema tests to service_role;
