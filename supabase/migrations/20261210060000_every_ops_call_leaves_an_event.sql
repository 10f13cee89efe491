-- Every ops call on a booking leaves an event, and none takes a booking from a worker that still holds it.
-- A review of the ops calls found ops.retry_booking and ops.cancel_booking left only the history row and the
-- state-transition event, where every other action records an ops.* event; and ops.release_stuck released a
-- booking in progress on updated_at alone, voiding a lease its worker still held (leases run up to 300 s), so
-- that worker's commit failed as lease_lost. Bodies as in 20261201101800, with those changes.

create or replace function ops.retry_booking(p_booking_id uuid, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  version integer;
begin
  perform private.act_as(p_actor);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state <> 'manual_review' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('only bookings in manual review can be retried; this one is %s', b.assignment_state);
  end if;
  version := private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
    'ops_retry: sent back to automatic assignment', '{}'::jsonb, p_actor);
  perform private.nudge(b.id, 'ops_retry');
  perform private.record_event('assignment.ops', 'ops.retry', 'info',
    pg_catalog.jsonb_build_object('review_reason', private.reason_for_event(b.manual_review_reason) ->> 'reason'),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'queued', 'version', version);
end $$;

create or replace function ops.cancel_booking(p_booking_id uuid, p_reason text, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  result jsonb;
begin
  perform private.act_as(p_actor, p_reason);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged');
  end if;
  result := public.cancel_booking(b.id, coalesce(p_reason, 'cancelled by ops'), p_actor);
  -- The reason is the operator's own words: it stays with the booking's history, not in the event.
  perform private.record_event('assignment.ops', 'ops.cancel', 'info',
    pg_catalog.jsonb_build_object('from_state', b.assignment_state), b.restaurant_id, b.id);
  return result;
end $$;

create or replace function ops.release_stuck(p_older_than_minutes integer, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  reason text;
  released integer := 0;
  redispatched integer := 0;
  escalated integer := 0;
  busy integer := 0;
begin
  perform private.act_as(p_actor);
  if p_older_than_minutes is null or p_older_than_minutes < 1 then
    raise exception using errcode = 'AS005', message = 'p_older_than_minutes must be at least 1';
  end if;
  reason := pg_catalog.format('no progress for %s minutes; released by ops', p_older_than_minutes);
  for r in select * from public.bookings
            where private.is_unsettled(assignment_state)
              and updated_at < pg_catalog.now() - pg_catalog.make_interval(mins => p_older_than_minutes)
            order by updated_at
            for update skip locked loop
    -- A call that holds the booking right now (begin, commit, another operator) is left alone.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', r.id)) then
      busy := busy + 1;
      continue;
    end if;
    -- Its worker still holds a lease (up to lease_seconds, 300 at most): it is slow, not stuck, and its
    -- commit would find the lease gone. When the lease runs out the sweeper takes it back anyway.
    if r.assignment_state = 'assignment_in_progress' and r.lease_expires_at > pg_catalog.now() then
      busy := busy + 1;
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
  perform private.record_event('assignment.ops', 'ops.release_stuck', 'warning',
    pg_catalog.jsonb_build_object('older_than_minutes', p_older_than_minutes, 'released_leases', released,
                                  'redispatched', redispatched, 'escalated', escalated, 'skipped_busy', busy), null, null);
  return pg_catalog.jsonb_build_object('released_leases', released, 'redispatched', redispatched,
                                       'escalated', escalated, 'skipped_busy', busy);
end $$;

comment on function ops.release_stuck(integer, text) is
  'Unstick bookings with no progress for N minutes (what ops.stuck_bookings lists): running ones whose lease has run out lose it and go back to the queue, waiting ones are dispatched again, ones stuck in "assigned" go to manual review with their tables released. Bookings another call holds right now, or whose worker still holds its lease, are skipped (skipped_busy). Not counted as errors by the circuit breaker.';
