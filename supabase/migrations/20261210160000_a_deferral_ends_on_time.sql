-- A deferral ends on time. A booking waiting for one of its restaurant's slots, or behind an open circuit
-- breaker, goes to manual review once it has waited max_deferral_seconds in one stretch; but the wait before
-- its next look was the fallback delay or the breaker's cooldown whatever was left of that limit. Both are
-- settings (the cooldown up to an hour, the delay unbounded, the limit down to a minute), so with a long
-- cooldown a booking meant to wait at most a minute waited the hour, and was then admitted instead of
-- escalated (an attacker's review found it; the defaults, 15 s and 10 s against 10 minutes, were not
-- affected). Now the next look is due no later than the limit, at insert as at every deferral after it.

-- Body as in 20261209000000, due no later than the deferral limit.
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

-- Body as in 20261210090000, a booking joining the queue at insert due no later than the deferral limit.
create or replace function private.prepare_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  settings private.pipeline_settings;
begin
  if new.assignment_state <> 'created' or new.assignment_state_version <> 1 then
    raise exception using errcode = 'AS004',
      message = 'a new booking starts in assignment state "created" at version 1',
      hint = 'Leave assignment_state and assignment_state_version to their defaults.';
  end if;
  if new.status <> 'pending' then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('a new booking starts pending, not "%s": the pipeline confirms it', new.status);
  end if;
  -- A client may not backdate it: a booking that looks idle for an hour from its insert is listed as stuck,
  -- and releasing it resets its dispatch count, which would get round the escalation after max_dispatches.
  new.updated_at := pg_catalog.now();
  if new.start_at is not null and new.party_size is not null then
    new := private.apply_turn_policy(new, new.end_at is null);
  end if;
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later; one that
  -- joins a queue is due when woken, or after the fallback.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  if private.slots_taken(new.restaurant_id, pg_catalog.now()) >= settings.max_parallel then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(
      secs => least(settings.rate_limited_delay_ms / 1000.0, settings.max_deferral_seconds));
  end if;
  return new;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
