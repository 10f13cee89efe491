-- A re-check goes on to the next restaurant while each needs nothing sent back.
--
-- Where pg_cron runs jobs every few seconds (hosted Supabase), the floor-plan re-check's job re-checked one
-- restaurant every 5 s, each in a transaction of its own (20261210140000), so that none waits for the others'
-- locks and a transaction stays under 64 subtransactions. A change pushed to many restaurants at once (holiday
-- service hours for 300) took 25 minutes to re-check, and ops.health called every restaurant still waiting
-- after 15 a problem, though most such re-checks find nothing to send back (an attacker's review of fairness
-- across restaurants).
-- private.recheck_floor_plans now goes on, in the same transaction, to the next restaurant due while the ones
-- before found nothing to send back, nothing busy and nothing failed: up to 16 restaurants, or 250 ms, a call.
-- A pass that sends a booking back (20 at most, as before) is the call's last, so a transaction still takes
-- under 64 subtransactions (one a restaurant, two a booking); a restaurant's lock is held until the call ends:
-- up to 250 ms after its own pass, and the last pass's own wait for its lock (a second at most) and work. Asked
-- for one restaurant (p_restaurant_id), it re-checks that one as
-- before. 300 restaurants that need nothing take about 100 s, not 25 minutes.
-- private.recheck_one_floor_plan: the body of private.recheck_floor_plans in 20261227220000, renamed.

create function private.recheck_one_floor_plan(p_now timestamptz default pg_catalog.clock_timestamp(),
                                                       p_settle interval default interval '10 seconds',
                                                       p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r record;
  done jsonb;
  wait_before text := pg_catalog.current_setting('lock_timeout');
begin
  -- The mark is held for the pass: one an edit in flight holds is passed over (that edit marks it again).
  select c.restaurant_id, c.changed_at, c.failures into r from private.floor_plan_rechecks c
   where c.changed_at <= p_now - p_settle and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
   order by c.changed_at limit 1
     for update skip locked;
  if not found then
    return pg_catalog.jsonb_build_object('restaurants', 0, 'replanned', 0);
  end if;
  begin
    perform pg_catalog.set_config('lock_timeout', '1s', true);
    done := private.replan_broken_holds(r.restaurant_id, p_now);
  exception when lock_not_available then
    -- Busy: to the back of the queue.
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp()
     where c.restaurant_id = r.restaurant_id;
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'busy', true);
  when others then
    perform private.back_off_recheck(r.restaurant_id, r.failures, pg_catalog.jsonb_build_object('sqlstate', sqlstate));
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'failed', true);
  end;
  perform pg_catalog.set_config('lock_timeout', wait_before, true);
  if (done ->> 'left')::int > 0 then
    -- More than a pass sends back: the next pass is due at once.
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp() - p_settle
     where c.restaurant_id = r.restaurant_id;
  elsif (done ->> 'failed')::int > 0 then
    -- What could be sent back was; the rest is tried again further back each time.
    perform private.back_off_recheck(r.restaurant_id, r.failures,
                                     pg_catalog.jsonb_build_object('bookings_failed', done -> 'failed'));
  elsif (done ->> 'busy')::int > 0 then
    -- Rows another transaction holds: to the back of the queue, as when the restaurant is busy.
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp()
     where c.restaurant_id = r.restaurant_id;
  else
    delete from private.floor_plan_rechecks c where c.restaurant_id = r.restaurant_id;
  end if;
  return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id,
                                       'replanned', (done ->> 'replanned')::int)
         || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
              'bookings_failed', nullif((done ->> 'failed')::int, 0),
              'bookings_busy', nullif((done ->> 'busy')::int, 0),
              'bookings_left', nullif((done ->> 'left')::int, 0)));
end $$;

create or replace function private.recheck_floor_plans(p_now timestamptz default pg_catalog.clock_timestamp(),
                                                       p_settle interval default interval '10 seconds',
                                                       p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  pass jsonb;
  passes integer := 0;
  started timestamptz := pg_catalog.clock_timestamp();
begin
  loop
    pass := private.recheck_one_floor_plan(p_now, p_settle, p_restaurant_id);
    exit when (pass ->> 'restaurants')::integer = 0;
    passes := passes + 1;
    -- On only after a pass that needed nothing: no booking sent back, busy or failed, nothing left.
    exit when p_restaurant_id is not null or (pass ->> 'replanned')::integer > 0
           or pass ?| array['busy', 'failed', 'bookings_failed', 'bookings_busy', 'bookings_left']
           or passes >= 16 or pg_catalog.clock_timestamp() - started > interval '250 milliseconds';
  end loop;
  return case when passes = 0 then pass else pass || pg_catalog.jsonb_build_object('restaurants', passes) end;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
