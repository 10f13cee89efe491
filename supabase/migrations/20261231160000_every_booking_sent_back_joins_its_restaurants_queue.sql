-- Every booking sent back to be planned joins its restaurant's queue when its slots are spoken for.
--
-- 20261231100000 sent a booking a platform's change returns to be planned as a new booking goes (at once while
-- the restaurant has a free slot, into its queue otherwise: private.queue_or_nudge), but the other ways a
-- booking is sent back still sent a request each, whatever the restaurant had free: an operator's
-- ops.release_stuck (up to 1000 bookings a call, the remedy the rate_limited review reason names for a
-- restaurant whose queue is not moving) and ops.retry_booking, a floor plan change that breaks holds or may
-- seat reviews (private.replan_broken_holds, 20 a pass) and a seated party's longer stay
-- (private.try_hold_seated_stay). All but the free slots' worth were answered rate_limited and polled again; a
-- queued booking an operator released was sent ahead of the bookings before it in the queue. An operator's
-- ops.retry_bookings (up to 1000 a call) left its bookings due at once, for the sweeper to dispatch (100 a
-- sweep, whatever the slots) and claims to take ahead of the queue. Found by a review of the ops calls. Each
-- now sends through private.queue_or_nudge (a release nearly so, below), so a release or a retry of a whole
-- evening sends as many requests as the restaurant has free slots and queues the rest, to be woken as slots
-- free (or by the queue's 10 s fallback). A released or retried booking starts its dispatch count over, as before; a released one
-- now starts its wait for a slot over too (deferred_since), since a booking that had waited out
-- max_deferral_seconds would otherwise go to review as rate_limited at its next look.
--
-- A release counts a restaurant's free slots from its bookings in progress alone, not by private.slots_taken,
-- which also counts bookings woken in the queue or handed out a moment before: a release is what an operator
-- calls when nothing else is sending, and a booking so counted may be just what is not moving (a first cut by
-- that count sent nothing for a stalled queue whose due bookings it counted as woken). So it sends whenever a
-- slot is not held by a booking in progress, for a coordinator to start and its claims and wakes to follow:
-- the oldest of those it releases (by insert, not the oldest in the whole queue) for those slots, and queues
-- the rest, woken as slots free like any queued booking. Hand-outs on their way and bookings woken a moment before
-- (one its own release of a booking in progress woke, say) are not counted there, so it may send up to as many
-- as the restaurant's max_parallel beyond what is free, each answered rate_limited and queued.
--
-- ops.release_stuck: body as in 20261231110000, in two passes (release, then send or queue), counting the
-- bookings that joined the queue ('joined_queue', in its answer and its event); ops.retry_bookings: as in
-- 20261231010000, likewise;
-- ops.retry_booking: as in 20261210060000, answering whether the booking waits for a slot ('waits_for_slot');
-- both with the lock wait of 20261231060000 again (replacing a function clears its settings);
-- private.replan_broken_holds: as in 20261228100000; private.try_hold_seated_stay: as in 20261230030000.

create or replace function ops.release_stuck(p_older_than_minutes integer, p_actor text, p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' set lock_timeout = '5s' as $$
declare
  r public.bookings;
  candidate record;
  reason text;
  cutoff timestamptz;
  released integer := 0;
  redispatched integer := 0;
  escalated integer := 0;
  busy integer := 0;
  joined_queue integer := 0;
  sent_back uuid[] := '{}';
  one record;
  restaurant uuid;
  free integer;
  left_stuck integer;
begin
  perform private.act_as(p_actor);
  if p_older_than_minutes is null or p_older_than_minutes < 1 then
    raise exception using errcode = 'AS005', message = 'p_older_than_minutes must be at least 1';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  reason := pg_catalog.format('no progress for %s minutes; released by ops', p_older_than_minutes);
  cutoff := pg_catalog.now() - pg_catalog.make_interval(mins => p_older_than_minutes);
  for candidate in select b.id from public.bookings b
                    where b.assignment_state = any(private.unsettled_states()) and b.updated_at < cutoff
                      and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
                      -- Its worker still holds a lease (up to lease_seconds, 300 at most): it is slow, not
                      -- stuck, and its commit would find the lease gone. Not even locked: when the lease runs
                      -- out the sweeper takes it back anyway.
                      and not (b.assignment_state = 'assignment_in_progress' and b.lease_expires_at > pg_catalog.now())
                    order by b.updated_at
                    limit 1000 loop
    -- A call that holds the booking right now (begin, another operator) is left alone.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', candidate.id)) then
      busy := busy + 1;
      continue;
    end if;
    -- Its row only now, if nobody holds it (a commit) and it is still stuck.
    select * into r from public.bookings b
     where b.id = candidate.id
       and b.assignment_state = any(private.unsettled_states()) and b.updated_at < cutoff
       and not (b.assignment_state = 'assignment_in_progress' and b.lease_expires_at > pg_catalog.now())
       for update skip locked;
    if not found then
      continue;
    end if;
    if r.assignment_state = 'assignment_in_progress' then
      perform private.record_attempt(r, 'retry', 'released_by_ops: ' || reason, null, null, '{}'::jsonb);
      perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
        'released_by_ops: ' || reason, pg_catalog.jsonb_build_object('attempt', r.attempt_count), p_actor);
      released := released + 1;
    elsif r.assignment_state = 'assigned' then
      perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version,
        'stuck_before_confirmation: ' || reason || '; its tables were released, assign them again',
        '{}'::jsonb, p_actor);
      escalated := escalated + 1;
      continue;
    else
      redispatched := redispatched + 1;
    end if;
    -- A fresh start, out of the queue: its dispatch count and its wait for a slot begin again (a booking that
    -- had waited out max_deferral_seconds would otherwise go to review as rate_limited at its next look).
    update public.bookings set dispatch_count = 0, deferred_since = null, next_attempt_at = pg_catalog.now()
     where id = r.id;
    sent_back := sent_back || r.id;
  end loop;
  -- Then sent back, oldest first: as many as the slots their restaurant's bookings in progress leave free at
  -- once, the others into its queue. Counted from the bookings in progress alone, not private.slots_taken,
  -- which counts bookings woken or handed out a moment before: a release that nothing claims or sweeps after
  -- (that is how its bookings came to look stuck) must send some, for a coordinator to start and its wakes to
  -- follow.
  for one in select b.id, b.restaurant_id from public.bookings b where b.id = any(sent_back)
              order by b.restaurant_id, b.created_at, b.id loop
    if one.restaurant_id is distinct from restaurant then
      restaurant := one.restaurant_id;
      free := (private.settings_for(restaurant)).max_parallel
              - (select count(*) from public.bookings x
                  where x.restaurant_id = restaurant and x.assignment_state = 'assignment_in_progress');
    end if;
    if free > 0 then
      perform private.nudge(one.id, 'ops_release');
      free := free - 1;
    elsif private.queue_or_nudge(one.id, one.restaurant_id, 'ops_release') then
      joined_queue := joined_queue + 1;
    end if;
  end loop;
  -- Past this call's 1000, held by another call now (those it skipped as busy are among them), or by a worker's
  -- lease (those come back on their own when it runs out).
  select count(*)::int into left_stuck from public.bookings
   where assignment_state = any(private.unsettled_states()) and updated_at < cutoff
     and (p_restaurant_id is null or restaurant_id = p_restaurant_id);
  perform private.record_event('assignment.ops', 'ops.release_stuck', 'warning',
    pg_catalog.jsonb_build_object('older_than_minutes', p_older_than_minutes, 'released_leases', released,
                                  'redispatched', redispatched, 'joined_queue', joined_queue, 'escalated', escalated,
                                  'skipped_busy', busy, 'left', left_stuck), p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('released_leases', released, 'redispatched', redispatched,
                                       'joined_queue', joined_queue, 'escalated', escalated, 'skipped_busy', busy, 'left', left_stuck);
end $$;

comment on function ops.release_stuck(integer, text, uuid) is
  'Unstick bookings with no progress for N minutes (at least 1; ops.stuck_bookings lists those of 10), of one restaurant (p_restaurant_id) or, without one, of every restaurant, at most 1000 a call, the longest stuck first: running ones whose lease has run out lose it and waiting ones are sent back to be planned, their dispatch count and their wait for a slot started over: the oldest of each restaurant for the slots its bookings in progress leave free, at once, the others into its queue; ones stuck in "assigned" go to manual review with their tables released. One whose worker still holds its lease is left alone, as is one another call holds right now (counted in skipped_busy when it holds the booking''s lock, not its row). Not counted as errors by the circuit breaker. p_actor (who, not a guest) is required. Returns {released_leases, redispatched, joined_queue, escalated, skipped_busy, left}: joined_queue counts those of the released and redispatched that joined their restaurant''s queue rather than being sent now; left counts those still past the cutoff (beyond the 1000, or left alone); call it again for those beyond the 1000 or busy (one a worker leases comes back on its own when the lease runs out).';

create or replace function ops.retry_booking(p_booking_id uuid, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  version integer;
  waits boolean;
begin
  perform private.act_as(p_actor);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state <> 'manual_review' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('only bookings in manual review can be retried; this one is %s', b.assignment_state);
  end if;
  version := private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
    'ops_retry: sent back to automatic assignment', '{}'::jsonb, p_actor);
  -- Sent back as a new booking goes: at once while the restaurant has a free slot, into its queue otherwise.
  waits := private.queue_or_nudge(b.id, b.restaurant_id, 'ops_retry');
  perform private.record_event('assignment.ops', 'ops.retry', 'info',
    pg_catalog.jsonb_build_object('review_reason', private.reason_for_event(b.manual_review_reason) ->> 'reason'),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'queued', 'version', version, 'waits_for_slot', waits);
end $$;
alter function ops.retry_booking(uuid, text) set lock_timeout = '5s';
comment on function ops.retry_booking(uuid, text) is
  'Send a booking in manual review back to automatic assignment with a fresh attempt budget, as a new booking goes: dispatched while its restaurant has a free slot, into its queue otherwise (waits_for_slot in the answer).';

create or replace function ops.retry_bookings(p_reason_code text, p_actor text, p_since timestamptz,
                                              p_restaurant_id uuid default null, p_limit integer default 500)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  candidate record;
  queued integer := 0;
  busy integer := 0;
  joined_queue integer := 0;
  left_over integer;
begin
  perform private.act_as(p_actor);
  if coalesce(pg_catalog.btrim(p_reason_code), '') = '' or p_reason_code !~ '^[a-z_]{1,64}$' then
    raise exception using errcode = 'AS005',
      message = 'name the reason code to retry, as ops.manual_review_queue() shows it (e.g. circuit_open)';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'p_limit must be between 1 and 1000';
  end if;
  if p_since is null then
    raise exception using errcode = 'AS005', message = 'say since when: p_since, e.g. now() - interval ''2 hours''';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  if not exists (select 1 from private.reason_codes c where c.code = p_reason_code)
     and not exists (select 1 from public.bookings b
                      where b.assignment_state = 'manual_review'
                        and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
                        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('no booking in review has the reason code %s, and it is not one of the pipeline''s',
                                  p_reason_code),
      hint = coalesce('The pipeline''s codes in review now: ' || (
                        select pg_catalog.string_agg(distinct c.code, ', ' order by c.code)
                          from public.bookings b
                          join private.reason_codes c on c.code = pg_catalog.split_part(b.manual_review_reason, ':', 1)
                         where b.assignment_state = 'manual_review'
                           and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)) || '.',
                      'No booking of the pipeline''s is in review.');
  end if;
  for candidate in select b.id from public.bookings b
                    where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
                      and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
                      and private.retry_qualifies(b, p_reason_code, p_since)
                    order by b.start_at
                    limit p_limit loop
    -- An operator acting on the booking right now keeps it. The lock lasts to the end of the call, released
    -- on commit or rollback alike; p_limit keeps their number well inside the lock table that every begin
    -- and commit needs.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', candidate.id)) then
      busy := busy + 1;
      continue;
    end if;
    -- Its row only now, if nobody holds it and it still qualifies (retried on its own meanwhile and in review
    -- again for another reason, say, it does not).
    select b.* into r from public.bookings b
     where b.id = candidate.id and private.retry_qualifies(b, p_reason_code, p_since)
       for update of b skip locked;
    if not found then
      continue;
    end if;
    perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
      'ops_retry: sent back to automatic assignment with others of ' || p_reason_code, '{}'::jsonb, p_actor);
    -- As a new booking goes: at once while its restaurant has a free slot, into its queue otherwise.
    if private.queue_or_nudge(r.id, r.restaurant_id, 'ops_retry') then
      joined_queue := joined_queue + 1;
    end if;
    queued := queued + 1;
  end loop;
  -- Left in review (beyond the limit, held by an operator, or locked by another call): call again.
  select count(*) into left_over from public.bookings b
   where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
     and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
     and private.retry_qualifies(b, p_reason_code, p_since);
  perform private.record_event('assignment.ops', 'ops.bookings_retried', 'info',
    -- A code of the pipeline's by name; one a platform wrote in its own reason is its words: free_text.
    pg_catalog.jsonb_build_object('reason_code', coalesce(private.reason_for_event(p_reason_code) ->> 'reason', 'free_text'),
                                  'queued', queued, 'joined_queue', joined_queue, 'busy', busy, 'left', left_over),
    p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'joined_queue', joined_queue, 'busy', busy, 'left', left_over);
end $$;
alter function ops.retry_bookings(text, text, timestamptz, uuid, integer) set lock_timeout = '5s';
comment on function ops.retry_bookings(text, text, timestamptz, uuid, integer) is
  'After an incident: send back to automatic assignment, with a fresh attempt budget, every booking in manual review with this reason code (e.g. circuit_open, coordinator_unreachable, attempts_exhausted) escalated since p_since, of one restaurant or all, whose stay is still ahead and whose party has not arrived, soonest first, at most p_limit (500) per call. Each goes as a new booking does: dispatched while its restaurant has a free slot, into its queue otherwise, woken as slots free. Returns {queued, joined_queue, busy, left}: queued counts those sent back, joined_queue those of them waiting in their restaurant''s queue; busy ones (an operator acting on them right now) stay in review; call again while left is above 0.';

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  reviews uuid[] := '{}';
  why text;
  b public.bookings;
  one uuid;
  replanned integer := 0;
  failed integer := 0;
  busy integer := 0;
  left_over integer := 0;
  seen pg_catalog.pg_snapshot;
  -- Since when the restaurant has waited for a re-check: a booking's failure is recorded once in that time.
  episode timestamptz := (select c.pending_since from private.floor_plan_rechecks c
                           where c.restaurant_id = p_restaurant_id);
  -- When the latest change that may seat more was made, if one was.
  room timestamptz := (select c.room_added_at from private.floor_plan_rechecks c
                        where c.restaurant_id = p_restaurant_id);
begin
  -- The scan's own snapshot, read in the same statement: what it saw.
  select pg_catalog.array_agg(k.id order by k.start_at, k.id), pg_catalog.pg_current_snapshot() into broken, seen
    from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  -- Then the lock, always: a commit that checked its tables before the change may still have been in flight,
  -- and only once it is done can its booking be seen. Only the bookings ahead whose row or holds the scan may
  -- not have seen are looked at again under it, so the lock is held briefly however many lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.may_be_unseen_by(k.xmin, seen)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.may_be_unseen_by(a.xmin, seen)))
       and not private.holds_its_stay(k));
  -- Reviews the engine decided (nothing fits, the party too large or small, outside service hours, the exact
  -- search out of time, no table in use; or attempts run out with one of those last) before a change that may
  -- seat more are planned again, each once: one that comes back to review did so after the change. Not a
  -- restaurant switched off, whose bookings an operator seats; not one whose start has passed.
  if room is not null and (select d.mode from private.decide_mode(p_restaurant_id, private.function_ceiling()) d) <> 'off' then
    reviews := array(select k.id from public.bookings k
                      where k.restaurant_id = p_restaurant_id and k.assignment_state = 'manual_review'
                        and k.start_at > p_now and private.reviewed_before(k, room));
  end if;
  -- Each on its own, the broken bookings first: one that cannot be changed, or whose row is held, holds back no
  -- other. 20 sent back a pass.
  for one in select k.id from public.bookings k where k.id = any(broken) or k.id = any(reviews)
              order by k.assignment_state <> 'confirmed', k.start_at, k.id loop
    if replanned >= 20 then
      left_over := left_over + 1;
      continue;
    end if;
    begin
      select * into b from public.bookings k where k.id = one for update nowait;
      why := case when b.start_at <= pg_catalog.now() then null
                  when b.assignment_state = 'confirmed' and b.status = 'confirmed' and not private.holds_its_stay(b)
                    then 'rule_changed: the floor plan changed and its tables no longer seat it under the rules'
                  when one = any(reviews) and private.reviewed_before(b, room)
                    then 'floor_plan_adds_room: the floor plan changed in a way that may seat it; planned again' end;
      if why is not null then
        perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, why,
                                                    '{}'::jsonb, 'system');
        perform private.queue_or_nudge(b.id, b.restaurant_id, 'modification');
        replanned := replanned + 1;
      end if;
    exception
      when lock_not_available then
        busy := busy + 1;
      when others then
        failed := failed + 1;
        if not exists (select 1 from public.observability_events e
                        where e.booking_id = one and e.event_type = 'floor_plan.replan_failed'
                          and e.created_at >= coalesce(episode, '-infinity')) then
          -- Stamped by the clock, as pending_since is: a sweep's transaction may have begun before the mark.
          perform private.record_event('assignment.sweeper', 'floor_plan.replan_failed', 'error',
            pg_catalog.jsonb_build_object('reason', 'replan_failed', 'sqlstate', sqlstate), p_restaurant_id, one,
            pg_catalog.clock_timestamp());
        end if;
    end;
  end loop;
  -- A stay under way whose party has not arrived is left at its tables (the party may be walking in to them),
  -- but an operator is told, once in the time the restaurant waited for this re-check: nothing else would,
  -- and the mark that brought the change here is gone once the bookings ahead are done. Stamped with p_now,
  -- the time the stay is judged at (the clock, when the re-check's cron job runs it).
  perform private.record_event('assignment.sweeper', 'floor_plan.stay_under_way_breaks_rules', 'warning',
            '{"reason": "stay_under_way"}'::jsonb, p_restaurant_id, k.id, p_now)
     from public.bookings k
    where k.restaurant_id = p_restaurant_id and k.start_at <= p_now and k.start_at > p_now - interval '12 hours'
      and k.end_at > p_now and k.assignment_state = 'confirmed' and k.status = 'confirmed'
      and not private.holds_its_stay(k)
      and not exists (select 1 from public.observability_events e
                       where e.booking_id = k.id and e.event_type = 'floor_plan.stay_under_way_breaks_rules'
                         and e.created_at >= coalesce(episode, '-infinity'));
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy, 'left', left_over);
end $$;

create or replace function private.try_hold_seated_stay(b public.bookings)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  stay tstzrange := private.blocked_window(b);
  k public.bookings;
  prior_lock_timeout text := pg_catalog.current_setting('lock_timeout');
begin
  -- Those that may go: waiting for their guest, placed by the pipeline (a staff placement is an operator's
  -- choice, as for the re-optimiser), and not being changed by another transaction right now (skip locked: a
  -- commit or an operator moving one never waits for this, nor this for them; one skipped stays in the way,
  -- and the overlap is left for an operator).
  for k in select o.* from public.bookings o
            where o.id in (select private.seated_stay_obstacle(b.id, stay))
              and o.assignment_state = 'confirmed' and o.status = 'confirmed'
            order by o.start_at, o.id for update skip locked loop
    -- Looked at again now that it is locked: it may have been moved off these tables meanwhile.
    if k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and k.id in (select private.seated_stay_obstacle(b.id, stay)) then
      perform private.apply_assignment_transition(k.id, 'assignment_pending', k.assignment_state_version,
        'seated_stay_needs_table: a seated party''s longer stay needs its table', '{}'::jsonb, 'system');
      perform private.queue_or_nudge(k.id, k.restaurant_id, 'modification');
    end if;
  end loop;
  -- A hold another transaction is writing on these tables (a commit seating someone, an operator's call) is
  -- waited for briefly: the platform's change is never held up for long, nor fails, for a race it lost.
  perform pg_catalog.set_config('lock_timeout', '2s', true);
  update public.booking_table_assignments set during = stay
   where booking_id = b.id and released_at is null and during is distinct from stay;
  perform pg_catalog.set_config('lock_timeout', prior_lock_timeout, true);
  return true;
exception when lock_not_available or deadlock_detected then
  return false;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
