-- A floor plan written again and again is still re-checked.
--
-- A restaurant's re-check waited until its floor plan had been left alone for 10 s (so an edit made in several
-- requests is judged whole), and every write moved that moment on. A platform that writes its floor plan more
-- often than every 10 s (a sync of its service hours or tables every few seconds, as a DELETE and an INSERT
-- of the same rows) was never re-checked: a real change made meanwhile (a table taken out of service) left
-- the bookings it broke on their tables, and ops.health reported the re-check pending for as long as the sync
-- ran, a problem no different from the false one. Found by an attacker's review of floor-plan writes. A mark
-- now also comes due a minute after the oldest change it waits for (pending_since), however the writes go on,
-- at a moment 2 s after the last of them, so a DELETE and an INSERT sent together are not judged between the
-- two; the floor plan is judged as it stands then, and the writes after that mark the restaurant again (a new
-- pending_since). A minute stays well inside the 15 minutes after which ops.health calls a pending re-check a
-- problem. What it leaves: an edit whose requests come more than 2 s apart and go on past the minute may be
-- judged half done (once a minute at most), and bookings it then breaks are planned again; each write still
-- cancels a failed re-check's back-off, as before, so a re-check that keeps failing while the writes go on is
-- tried again (and recorded, floor_plan.recheck_failed) at each such quiet moment; and a platform that writes
-- its floor plan every 2 s or more often leaves no quiet moment, so it is still never re-checked (ops.health
-- says so after 15 minutes). A busy restaurant (its lock or a booking's row held) is tried again 10 s later
-- whichever way its mark comes due, as before (private.recheck_again_at), so the sweeper's loop of re-checks
-- (up to 50 a call where pg_cron runs a job a minute) does not come back to a few busy restaurants in turn; a
-- write to its floor plan cancels that delay as it cancels a back-off (the mark waits from the write), so one
-- both busy and written every few seconds is tried at each quiet moment, a second's lock wait each time.
--
-- private.recheck_one_floor_plan: as in 20261228110000, with the minute's bound and a busy mark's next try
-- by private.recheck_again_at.

-- The mark of a restaurant found busy: due again p_settle from now, by the settled arm (p_settle after the
-- mark) or, once past its minute by then, by the quiet one (2 s after it). Set only now, a mark past its minute
-- was due 2 s later, and the sweeper's loop of up to 50 re-checks came back to each of a few busy restaurants
-- in turn.
create or replace function private.recheck_again_at(p_pending_since timestamptz, p_settle interval)
returns timestamptz language sql volatile set search_path = '' as $$
  select pg_catalog.clock_timestamp()
         + case when p_pending_since + interval '1 minute' < pg_catalog.clock_timestamp() + p_settle
                then greatest(p_settle - interval '2 seconds', interval '0') else interval '0' end
$$;

create or replace function private.recheck_one_floor_plan(p_now timestamptz default pg_catalog.clock_timestamp(),
                                                       p_settle interval default interval '10 seconds',
                                                       p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r record;
  done jsonb;
  wait_before text := pg_catalog.current_setting('lock_timeout');
begin
  -- The mark is held for the pass: one an edit in flight holds is passed over (that edit marks it again).
  -- Due once its floor plan has been left alone for p_settle, or, when it never is, a minute after the change
  -- first waiting, at a moment 2 s after the last write (a busy try's mark and a failed try's back-off are set
  -- ahead: private.recheck_again_at, private.back_off_recheck): a floor plan written every few seconds is
  -- re-checked as it stands then, between its writes, and the writes after that mark it again.
  select c.restaurant_id, c.changed_at, c.failures into r from private.floor_plan_rechecks c
   where (c.changed_at <= p_now - p_settle
          or c.pending_since <= p_now - interval '1 minute' and c.changed_at <= p_now - interval '2 seconds')
     and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
   order by c.changed_at limit 1
     for update skip locked;
  if not found then
    return pg_catalog.jsonb_build_object('restaurants', 0, 'replanned', 0);
  end if;
  begin
    perform pg_catalog.set_config('lock_timeout', '1s', true);
    done := private.replan_broken_holds(r.restaurant_id, p_now);
  exception when lock_not_available then
    -- Busy: to the back of the queue, tried again p_settle later whichever way it comes due.
    update private.floor_plan_rechecks c set changed_at = private.recheck_again_at(c.pending_since, p_settle)
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
    update private.floor_plan_rechecks c set changed_at = private.recheck_again_at(c.pending_since, p_settle)
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

revoke all on all routines in schema private from public, anon, authenticated;
