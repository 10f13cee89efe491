-- An operator's release of stuck bookings can be kept to one restaurant.
--
-- A review of what one restaurant can do to another found that ops.release_stuck, the remedy the
-- rate_limited review reason names for a restaurant whose bookings stay in progress, had no restaurant to
-- keep to: an operator fixing one restaurant released, re-dispatched (resetting their dispatch counts, which
-- bound the time to escalation) or sent to review up to 1000 stuck bookings of every restaurant. It now takes
-- an optional restaurant id, as ops.retry_bookings does; without one it still releases every restaurant's,
-- and its event names the restaurant it kept to. A restaurant that does not exist is refused, writing
-- nothing. The two-argument call is the same call without a restaurant. Body as in 20261231010000
-- otherwise, with the lock wait of 20261231060000.
--
-- The rate_limited review reason names the calls with the booking's restaurant filled in, so an operator
-- who copies them keeps to it (private.defer_attempt: body as in 20261231040000 otherwise).

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
    perform private.nudge(r.id, 'ops_release');
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

create or replace function private.defer_attempt(b public.bookings, p_why text, p_delay_ms integer, p_settings private.pipeline_settings,
                                      p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  since timestamptz;
  waited text;
  reason text;
  running integer;
  ahead integer;
begin
  select coalesce(x.deferred_since, p_now) into since from public.bookings x where x.id = b.id;
  if p_now - since < pg_catalog.make_interval(secs => p_settings.max_deferral_seconds) then
    update public.bookings
       set deferred_since = since,
           next_attempt_at = p_now + least(pg_catalog.make_interval(secs => p_delay_ms / 1000.0),
                                           since + pg_catalog.make_interval(secs => p_settings.max_deferral_seconds) - p_now)
     where id = b.id;
    return null;
  end if;
  -- What the operator needs to tell a stuck restaurant from a busy one: a queue that moves has few in progress
  -- for long and many ahead; counted only here, when a wait runs out.
  if p_why = 'rate_limited' then
    select count(*) into running from public.bookings x
     where x.restaurant_id = b.restaurant_id and x.assignment_state = 'assignment_in_progress';
    select count(*) into ahead from public.bookings w
     where w.restaurant_id = b.restaurant_id and w.deferred_since is not null
       and w.created_at < b.created_at and private.is_queued(w.assignment_state);
  end if;
  waited := pg_catalog.round(extract(epoch from p_now - since) / 60)::text || ' min';
  reason := case p_why
    when 'circuit_open' then pg_catalog.format(
      'circuit_open: this booking waited %s for tables while automatic assignment at this restaurant is paused by its circuit breaker after repeated errors or attempts whose lease ran out; fix the cause (see its coordinator.error events, and coordinator.retry events with reason lease_expired), then ops.reset_circuit_breaker() and ops.retry_bookings(''circuit_open'', ...)',
      waited)
    else pg_catalog.format(
      'rate_limited: waited %s in the restaurant''s queue for one of its %s assignment slots; %s in progress and %s waiting ahead of it now; bookings that stay in progress are stuck: release them (ops.release_stuck(10, ''<you>'', ''%s'')); a long queue ahead is more bookings than the slots assign: raise ops.set_max_parallel() (a lower FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL of the functions still caps it); then ops.retry_bookings(''rate_limited'', ''<you>'', <since>, ''%s'')',
      waited, p_settings.max_parallel, running, ahead, b.restaurant_id, b.restaurant_id) end;
  perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, reason,
    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'deferred_by', p_why, 'waited_ms', round(extract(epoch from p_now - since) * 1000),
      'in_progress', running, 'ahead', ahead)),
    'coordinator');
  -- Named for the path of this attempt: assignment_begin records the attempt's mode on the booking before
  -- it consults the breaker or the slots.
  perform private.record_escalation(private.booking_mode(b.id), reason, b.attempt_count, null,
    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'waited_ms', round(extract(epoch from p_now - since) * 1000), 'in_progress', running, 'ahead', ahead)),
    b.restaurant_id, b.id, 'error');
  return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', reason);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
