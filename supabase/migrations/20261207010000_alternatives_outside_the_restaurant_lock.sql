-- A failing attempt's review alternatives are searched before the restaurant lock, not under it (issue:
-- throughput). assignment_fail takes the restaurant lock first (20261206000000), and an attempt that found no
-- table then searched the alternative times for the manual-review event while holding it: about 7 ms a
-- booking in the reservation-drop benchmark (pg_stat_statements, nested), while every begin and commit of
-- the restaurant waited. The alternatives are suggestions on the floor as it is when the attempt fails, and
-- accepting one re-checks everything under the lock, so the search needs no lock; it now runs before it
-- when the attempt is about to be escalated for a reason a time can fix, and the escalation uses it.

-- The offer the manual-review event carries: the alternatives, or nothing when no time can fix the reason.
create function private.escalation_offer(p_booking_id uuid, p_reason text)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  offer jsonb := '{}'::jsonb;
begin
  if private.fixable_by_time(p_reason) then
    select pg_catalog.jsonb_build_object('alternatives', coalesce(pg_catalog.jsonb_agg(
             pg_catalog.jsonb_build_object('start_at', a -> 'start_at', 'offset_minutes', a -> 'offset_minutes',
                                           'tables', a -> 'tables')), '[]'::jsonb))
      into offer
      from public.bookings b, pg_catalog.jsonb_array_elements(private.seating_alternatives(b)) a
     where b.id = p_booking_id;
  end if;
  return offer;
end $$;

-- record_escalation as in 20261202200000, taking the offer when the caller searched it already.
drop function private.record_escalation(text, text, integer, integer, jsonb, uuid, uuid, text);
create function private.record_escalation(p_mode text, p_reason text, p_attempts integer, p_duration_ms integer,
                                          p_context jsonb, p_restaurant_id uuid, p_booking_id uuid,
                                          p_severity text default 'warning', p_offer jsonb default null)
returns void language plpgsql set search_path = '' as $$
declare
  code text := pg_catalog.split_part(p_reason, ':', 1);
  offer jsonb := coalesce(p_offer, private.escalation_offer(p_booking_id, p_reason));
begin
  if private.legacy_path(p_mode) then
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      private.legacy_escalation_context(code, p_attempts) || coalesce(p_context, '{}'::jsonb) || offer,
      p_restaurant_id, p_booking_id);
    perform private.record_pipeline_event(p_mode, 'coordinator.summary', p_severity,
      private.legacy_summary_context('exhausted', p_attempts, p_duration_ms, code), p_restaurant_id, p_booking_id);
  else
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      pg_catalog.jsonb_build_object('reason', code, 'detail', p_reason, 'attempts', p_attempts,
                                    'duration_ms', p_duration_ms) || coalesce(p_context, '{}'::jsonb) || offer,
      p_restaurant_id, p_booking_id);
  end if;
end $$;

-- Whether a failing attempt of this kind ends in manual review with exactly its own reason: private.end_attempt
-- applies this rule, and assignment_fail asks it before the lock to decide whether to search the alternatives.
create function private.escalates_as_given(b public.bookings, p_kind text)
returns boolean language plpgsql stable set search_path = '' as $$
begin
  return not private.legacy_path(b.assignment_mode) and p_kind = 'no_fit'
         and b.attempt_count > (private.settings_for(b.restaurant_id)).no_fit_retries;
end $$;

-- end_attempt as in 20261201101200, passing on an offer searched for exactly the reason it escalates with.
drop function private.end_attempt(public.bookings, text, text, integer, jsonb, timestamptz);
create function private.end_attempt(b public.bookings, p_kind text, p_reason text, p_duration_ms integer,
                                    p_details jsonb, p_now timestamptz, p_offer jsonb default null)
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
  elsif private.escalates_as_given(b, p_kind) then
    escalate_reason := p_reason;
  elsif b.attempt_count >= s.max_attempts then
    escalate_reason := pg_catalog.format('attempts_exhausted: %s attempts failed; last: %s', b.attempt_count, p_reason);
  end if;

  if escalate_reason is not null then
    perform private.record_attempt(b, 'manual_review', p_reason, null, p_duration_ms, p_details);
    perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, escalate_reason,
      pg_catalog.jsonb_build_object('kind', p_kind, 'attempts', b.attempt_count), 'coordinator');
    perform private.record_escalation(b.assignment_mode, escalate_reason, b.attempt_count, p_duration_ms, '{}'::jsonb,
                                      b.restaurant_id, b.id,
                                      p_offer => case when escalate_reason = p_reason then p_offer end);
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

-- assignment_fail as in 20261206000000, searching the alternatives before it takes the restaurant lock.
create or replace function public.assignment_fail(
  p_booking_id uuid,
  p_lease_token uuid,
  p_kind text,
  p_reason text,
  p_duration_ms integer default null,
  p_details jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  restaurant uuid;
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
  -- The reason the attempt ends with: prefixed with its kind unless it names its own code.
  ending text := case when pg_catalog.strpos(reason, ':') = 0 then p_kind || ': ' || reason else reason end;
  offer jsonb;
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
  select * into b from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  restaurant := b.restaurant_id;
  -- Before the lock (see the header): only for the attempt that holds the lease and is about to be escalated.
  if b.lease_token = p_lease_token and private.escalates_as_given(b, p_kind) then
    offer := private.escalation_offer(p_booking_id, ending);
  end if;
  -- The attempt leaves its slot: serialised with the begins that count the slots (20261206000000).
  perform private.lock_restaurant(restaurant);
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  perform private.record_shadow(b, p_shadow);
  if p_kind in ('error', 'invalid_data') then
    if p_kind = 'error' then
      perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    else
      perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
    end if;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.error', 'error',
      pg_catalog.jsonb_build_object('message', pg_catalog.left(reason, 500), 'attempts', b.attempt_count,
                                    'kind', p_kind, 'counts_toward_breaker', p_kind = 'error'),
      b.restaurant_id, b.id);
  else
    perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  end if;
  -- invalid_data is retried and escalated exactly like an error; only the breaker tells them apart.
  return private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, ending,
                             p_duration_ms, p_details, p_now, offer);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
