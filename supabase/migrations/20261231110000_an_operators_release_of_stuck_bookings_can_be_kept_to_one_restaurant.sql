-- An operator's release of stuck bookings can be kept to one restaurant.
--
-- A review of what one restaurant can do to another found that ops.release_stuck, the remedy the
-- rate_limited review reason names for a restaurant whose bookings stay in progress, had no restaurant to
-- keep to: an operator fixing one restaurant released, re-dispatched (resetting their dispatch counts, which
-- bound the time to escalation) or sent to review up to 1000 stuck bookings of every restaurant. It now takes
-- an optional restaurant id, as ops.retry_bookings does; without one it still releases every restaurant's,
-- and its event names the restaurant it kept to. A restaurant that does not exist is refused, writing
-- nothing. The two-argument call is the same call without a restaurant. A booking it sends back is nudged
-- or joins its restaurant's queue (private.queue_or_nudge, 20261231100000), so a release of many does not
-- send as many requests at once. Body as in 20261231010000 otherwise, with the lock wait of 20261231060000.

drop function ops.release_stuck(integer, text);

create function ops.release_stuck(p_older_than_minutes integer, p_actor text, p_restaurant_id uuid default null)
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
    update public.bookings set dispatch_count = 0 where id = r.id;
    perform private.queue_or_nudge(r.id, r.restaurant_id, 'ops_release');
  end loop;
  -- Past this call's 1000, held by another call now (those it skipped as busy are among them), or by a worker's
  -- lease (those come back on their own when it runs out).
  select count(*)::int into left_stuck from public.bookings
   where assignment_state = any(private.unsettled_states()) and updated_at < cutoff
     and (p_restaurant_id is null or restaurant_id = p_restaurant_id);
  perform private.record_event('assignment.ops', 'ops.release_stuck', 'warning',
    pg_catalog.jsonb_build_object('older_than_minutes', p_older_than_minutes, 'released_leases', released,
                                  'redispatched', redispatched, 'escalated', escalated, 'skipped_busy', busy,
                                  'left', left_stuck), p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('released_leases', released, 'redispatched', redispatched,
                                       'escalated', escalated, 'skipped_busy', busy, 'left', left_stuck);
end $$;

comment on function ops.release_stuck(integer, text, uuid) is
  'Unstick bookings with no progress for N minutes (at least 1; ops.stuck_bookings lists those of 10), of one restaurant (p_restaurant_id) or, without one, of every restaurant, at most 1000 a call, the longest stuck first: running ones whose lease has run out lose it and go back to the queue, waiting ones are dispatched again, ones stuck in "assigned" go to manual review with their tables released. One whose worker still holds its lease is left alone, as is one another call holds right now (counted in skipped_busy when it holds the booking''s lock, not its row). Not counted as errors by the circuit breaker. p_actor (who, not a guest) is required. Returns {released_leases, redispatched, escalated, skipped_busy, left}: left counts those still past the cutoff (beyond the 1000, or left alone); call it again for those beyond the 1000 or busy (one a worker leases comes back on its own when the lease runs out).';
revoke all on function ops.release_stuck(integer, text, uuid) from public, anon, authenticated;
grant execute on function ops.release_stuck(integer, text, uuid) to service_role;
