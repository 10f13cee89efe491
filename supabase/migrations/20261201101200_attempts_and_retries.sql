

create function private.record_attempt(b public.bookings, p_result text, p_reason text, p_strategy text,
                                       p_duration_ms integer, p_metadata jsonb)
returns void language sql set search_path = '' as $$
  insert into public.booking_assignment_attempts (booking_id, attempt_no, strategy, result, reason, duration_ms, metadata)
  values (b.id, greatest(b.attempt_count, 1), p_strategy, p_result, p_reason, p_duration_ms, coalesce(p_metadata, '{}'::jsonb))
  on conflict (booking_id, attempt_no) do update
    set result = excluded.result, reason = excluded.reason, strategy = excluded.strategy,
        duration_ms = excluded.duration_ms, metadata = excluded.metadata;
$$;

-- End an attempt that did not produce tables: back to assignment_pending with a backoff, or to manual
-- review when the attempts are used up or retrying cannot help. Returns the outcome JSON.
-- V3: exponential backoff, "no table fits" escalates at once (by default), coordinator.* events.
-- The legacy path: its own fixed loop and events (private.legacy_retry, in the legacy path's file).
create function private.end_attempt(b public.bookings, p_kind text, p_reason text, p_duration_ms integer,
                                    p_details jsonb, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  s private.pipeline_settings;
  legacy boolean := private.legacy_path(b.assignment_mode);
  delay integer;
  escalate_reason text;
  code text := pg_catalog.split_part(p_reason, ':', 1);
begin
  s := private.settings_for(b.restaurant_id);
  if legacy then
    select l.escalate_reason, l.delay_ms into escalate_reason, delay from private.legacy_retry(b, p_reason) l;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.attempt', 'warning',
      private.legacy_attempt_context(b, false, code), b.restaurant_id, b.id);
  elsif p_kind = 'no_fit' and b.attempt_count > s.no_fit_retries then
    escalate_reason := p_reason;
  elsif b.attempt_count >= s.max_attempts then
    escalate_reason := pg_catalog.format('attempts_exhausted: %s attempts failed; last: %s', b.attempt_count, p_reason);
  end if;

  if escalate_reason is not null then
    perform private.record_attempt(b, 'manual_review', p_reason, null, p_duration_ms, p_details);
    perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, escalate_reason,
      pg_catalog.jsonb_build_object('kind', p_kind, 'attempts', b.attempt_count), 'coordinator');
    perform private.record_escalation(b.assignment_mode, escalate_reason, b.attempt_count, p_duration_ms, '{}'::jsonb,
                                      b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', escalate_reason);
  end if;

  -- V3: the pipeline's backoff from the settings, plus up to a second of jitter.
  delay := coalesce(delay, private.backoff_ms(b.attempt_count, s.retry_base_ms, s.retry_max_ms, 1000));
  perform private.record_attempt(b, case when p_kind = 'error' then 'error' else 'retry' end, p_reason, null,
                                 p_duration_ms, p_details);
  perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, p_reason,
    pg_catalog.jsonb_build_object('kind', p_kind, 'attempts', b.attempt_count, 'delay_ms', delay), 'coordinator',
    p_now + pg_catalog.make_interval(secs => delay / 1000.0), p_now);
  perform private.record_pipeline_event(b.assignment_mode, 'coordinator.retry', 'warning',
    case when legacy then private.legacy_retry_context(b, delay, code)
         else pg_catalog.jsonb_build_object('reason', case when p_kind = 'no_fit' then 'no_assignment' else code end,
                                            'detail', p_reason, 'delay_ms', delay, 'attempts', b.attempt_count,
                                            'duration_ms', p_duration_ms) end,
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'retry', 'reason', p_reason, 'delay_ms', delay);
end $$;

-- Defer a booking that may not run yet (p_why: circuit_open or rate_limited) by p_delay_ms — unless it has
-- already waited max_deferral_seconds in this stretch: then it goes to manual review with a reason that
-- says what to do. Returns null when deferred, or the manual_review outcome.
create function private.defer_attempt(b public.bookings, p_why text, p_delay_ms integer, p_settings private.pipeline_settings,
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
      'circuit_open: automatic assignment at this restaurant has been paused by its circuit breaker for %s after repeated coordinator errors; fix the cause (see coordinator.error events), then ops.reset_circuit_breaker() and ops.retry_booking()',
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

-- A lease ran out: the worker holding it is gone. Counts as an error for the breaker.
create function private.expire_lease(p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  select * into b from public.bookings where id = p_booking_id for update;
  if b.assignment_state <> 'assignment_in_progress' or b.lease_expires_at > p_now then
    return pg_catalog.jsonb_build_object('outcome', 'noop');
  end if;
  perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
  return private.end_attempt(b, 'error', 'lease_expired: the worker holding the booking stopped answering', null,
                             '{}'::jsonb, p_now);
end $$;

-- The booking, locked, if this lease still holds it; a row of nulls if the lease was lost (expired and
-- taken over, or the booking finished meanwhile), in which case the caller's work no longer counts.
create function private.leased_booking(p_booking_id uuid, p_lease_token uuid)
returns public.bookings language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  select * into b from public.bookings
   where id = p_booking_id and assignment_state = 'assignment_in_progress' and lease_token = p_lease_token
   for update;
  return b;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
