-- Two review reasons point where the cause is, after an audit of the review queue: circuit_open blamed
-- "repeated coordinator errors (see coordinator.error events)", but the breaker also counts attempts whose lease
-- ran out, which write coordinator.retry with reason lease_expired, so an operator could find no error at all;
-- and both it and rate_limited sent the operator to ops.retry_booking one booking at a time, where the queue
-- holds every booking the incident held back (ops.retry_bookings takes them by reason code). rate_limited also
-- says that the functions' own limit can be the lower one. Body as in 20261210160000 otherwise.

create or replace function private.defer_attempt(b public.bookings, p_why text, p_delay_ms integer, p_settings private.pipeline_settings,
                                      p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  since timestamptz;
  waited text;
  reason text;
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
  waited := pg_catalog.round(extract(epoch from p_now - since) / 60)::text || ' min';
  reason := case p_why
    when 'circuit_open' then pg_catalog.format(
      'circuit_open: this booking waited %s for tables while automatic assignment at this restaurant is paused by its circuit breaker after repeated errors or attempts whose lease ran out; fix the cause (see its coordinator.error events, and coordinator.retry events with reason lease_expired), then ops.reset_circuit_breaker() and ops.retry_bookings(''circuit_open'', ...)',
      waited)
    else pg_catalog.format(
      'rate_limited: waited %s for one of the restaurant''s %s assignment slots; release bookings stuck in progress (ops.release_stuck()) or raise ops.set_max_parallel() (a lower FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL of the functions still caps it), then ops.retry_bookings(''rate_limited'', ...)',
      waited, p_settings.max_parallel) end;
  perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, reason,
    pg_catalog.jsonb_build_object('deferred_by', p_why, 'waited_ms', round(extract(epoch from p_now - since) * 1000)),
    'coordinator');
  -- Named for the path of this attempt: assignment_begin records the attempt's mode on the booking before
  -- it consults the breaker or the slots.
  perform private.record_escalation(private.booking_mode(b.id), reason, b.attempt_count, null,
    pg_catalog.jsonb_build_object('waited_ms', round(extract(epoch from p_now - since) * 1000)),
    b.restaurant_id, b.id, 'error');
  return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', reason);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
