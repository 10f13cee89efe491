-- The circuit breaker counts what says something about the restaurant's pipeline, not about one booking.
--
-- A restaurant's breaker is shared by all its bookings (invariant 4), so what it counts decides whether one
-- odd row can pause automatic assignment for all of them (invariant 11). It counts infrastructure and engine
-- failures: errors the coordinator reports (timeouts, dropped connections, 5xx answers, an engine exception,
-- a plan that breaks a rule on its own snapshot) and leases that ran out. It does not count a failure that
-- belongs to one booking's data: `invalid_data` (the booking's snapshot does not parse). Such an attempt is
-- retried with backoff and escalated like an error — the reason names the cause, a coordinator.error event
-- records it — but leaves the breaker as it was; a half-open breaker whose probe it was hands the probe to
-- the next booking. A rule that changed under the plan is not a failure at all: assignment_commit answers it
-- with a re-plan (20261203000000_rule_changes_replan.sql).

-- A booking whose attempt ended without telling anything about the restaurant gives up the probe it held, so
-- the next booking that asks probes instead of waiting for this one's retry.
create function private.breaker_release_probe(p_restaurant_id uuid, p_booking_id uuid, p_now timestamptz)
returns void language sql set search_path = '' as $$
  update private.circuit_breakers
     set probe_booking_id = null, probe_started_at = null, updated_at = p_now
   where restaurant_id = p_restaurant_id and state = 'half_open' and probe_booking_id = p_booking_id;
$$;

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
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
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
  if pg_catalog.strpos(reason, ':') = 0 then
    reason := p_kind || ': ' || reason;
  end if;
  -- invalid_data is retried and escalated exactly like an error; only the breaker tells them apart.
  return private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, reason,
                             p_duration_ms, p_details, p_now);
end $$;
comment on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz) is
  'Finish an attempt without tables. kind = no_fit (nothing free fits), conflict (re-planning kept losing races or finding the rules changed), error (an infrastructure or engine failure: counts toward the restaurant''s circuit breaker) or invalid_data (this booking''s data cannot be planned, e.g. its snapshot does not parse: retried and escalated like an error, not counted toward the breaker). Schedules a retry with backoff or escalates to manual_review; returns {outcome: retry | manual_review | lease_lost}.';

revoke all on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz)
  from public, anon, authenticated, service_role;
grant execute on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz)
  to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
