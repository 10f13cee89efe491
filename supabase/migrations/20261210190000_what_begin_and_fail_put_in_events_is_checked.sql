-- What a caller passes to assignment_begin and assignment_fail is checked before it reaches an event. A
-- security review of the RPCs a Data API client can call found:
--   * assignment_begin's p_trigger was copied as given into the context of coordinator.start, .started,
--     .lock_contention and .circuit_open: any words a caller typed. The coordinator's handler accepts only a
--     lower_snake_case code of up to 40 characters; the database now refuses anything else (AS005).
--   * assignment_fail cut its reason to 500 characters after scrubbing it for the coordinator.error event, so
--     a long reason cut inside a time stamp left a run of digits that reads as a phone number: the event was
--     refused (23514) and the attempt could not be ended. The reason is now scrubbed and shortened word by word
--     first (private.scrub_and_cut, as the audit does), so the cut that follows has nothing left to cut.

-- Body as in 20261209020000, with the trigger checked.
create or replace function public.assignment_begin(p_booking_id uuid, p_trigger text default 'dispatch',
                                                   p_max_parallel integer default null,
                                                   p_mode_ceiling text default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  if p_trigger is null or p_trigger !~ '^[a-z_]{1,40}$' then
    raise exception using errcode = 'AS005',
      message = 'trigger is a lower_snake_case code of up to 40 characters, e.g. dispatch';
  end if;
  return private.assignment_begin_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
end $$;

-- Body as in 20261209020000, with the reason scrubbed and shortened before anything cuts it.
create or replace function public.assignment_fail(p_booking_id uuid, p_lease_token uuid, p_kind text, p_reason text,
                                                  p_duration_ms integer default null, p_details jsonb default '{}'::jsonb,
                                                  p_shadow jsonb default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.assignment_fail_unchecked(p_booking_id, p_lease_token, p_kind, private.scrub_and_cut(p_reason, 500),
                                           p_duration_ms, p_details, p_shadow, p_now);
end $$;

comment on function public.assignment_begin(uuid, text, integer, text, timestamptz) is
  'Start an assignment attempt: decides the restaurant''s mode (off sends the booking to manual review), locks the restaurant then the booking, verifies capacity on every call (party size and service hours; created → capacity_verified → assignment_pending), checks the restaurant''s circuit breaker and concurrency slot (p_max_parallel can lower the database limit, never raise it), then moves it to assignment_in_progress under a lease and returns {outcome: ready, lease_token, attempt, mode, shadow_candidate, lock_wait_ms, slot_wait_ms, snapshot}. Other outcomes: noop, busy, manual_review, circuit_open, rate_limited (with delay_ms); a booking deferred for longer than max_deferral_seconds goes to manual_review instead. p_trigger is a lower_snake_case code of up to 40 characters (AS005 otherwise). p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';
