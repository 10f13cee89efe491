-- The circuit_open reason no longer says how long the breaker has been open, which it did not know.
--
-- A booking that waits past max_deferral_seconds goes to manual review saying how long it waited. For
-- circuit_open the sentence read "paused by its circuit breaker for N min", but N is the booking's own wait
-- (deferred_since), which since 20261208010000 includes time queued for a slot before the breaker opened,
-- and a breaker may also have opened before the booking was made. The sentence now says what N is: the
-- booking's wait. The reason code and everything after the semicolon (what the operator should do) are as
-- before; the rate_limited sentence already said "waited N". Body otherwise as in 20261201101200.
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
       set deferred_since = since, next_attempt_at = p_now + pg_catalog.make_interval(secs => p_delay_ms / 1000.0)
     where id = b.id;
    return null;
  end if;
  waited := pg_catalog.round(extract(epoch from p_now - since) / 60)::text || ' min';
  reason := case p_why
    when 'circuit_open' then pg_catalog.format(
      'circuit_open: this booking waited %s for tables while automatic assignment at this restaurant is paused by its circuit breaker after repeated coordinator errors; fix the cause (see coordinator.error events), then ops.reset_circuit_breaker() and ops.retry_booking()',
      waited)
    else pg_catalog.format(
      'rate_limited: waited %s for one of the restaurant''s %s assignment slots; release bookings stuck in progress (ops.release_stuck()) or raise ops.set_max_parallel(), then ops.retry_booking()',
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
