
-- A circuit breaker per restaurant, shared by every function instance because it lives here.
-- closed: work flows. open: after `breaker_failure_threshold` consecutive errors, work is deferred until the
-- cooldown ends. half_open: one probe booking may run; its success closes the breaker, its failure reopens it.
-- A probe that never reports (cancelled, assigned by hand, deleted, or never picked up within a lease) is
-- stale: the next booking that asks becomes the probe, so a breaker can never stay half-open for good.
-- Only errors count: "no table fits" and rate limiting are normal outcomes. Operators can close a breaker
-- by hand with ops.reset_circuit_breaker().
-- Its events are named for the path of the booking that moved it (private.record_pipeline_event, in the
-- rollout migration; a reset by hand, which has no booking, for the restaurant's mode).

create table private.circuit_breakers (
  restaurant_id uuid primary key references public.restaurants (id) on delete cascade,
  state text not null default 'closed'
    constraint breaker_state_is_closed_open_or_half_open check (state in ('closed', 'open', 'half_open')),
  consecutive_failures integer not null default 0
    constraint breaker_failures_are_not_negative check (consecutive_failures >= 0),
  opened_at timestamptz,
  probe_booking_id uuid,
  probe_started_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint open_breaker_records_when_it_opened check (state = 'closed' or opened_at is not null)
);
comment on table private.circuit_breakers is 'Shared circuit-breaker state per restaurant. No row means closed.';

-- Why the half-open breaker's probe can no longer decide anything, or null while it still can. A probe is
-- live while it waits in the queue or runs under a live lease; it is stale once it left the queue without
-- reporting (cancelled, assigned by hand, escalated, confirmed), was deleted, or has not run for a lease.
create function private.breaker_probe_staleness(br private.circuit_breakers, p_now timestamptz)
returns text language plpgsql stable set search_path = '' as $$
declare
  probe record;
  lease_seconds integer;
begin
  if br.probe_booking_id is null then
    return 'no_probe';
  end if;
  select b.assignment_state, b.lease_expires_at into probe from public.bookings b where b.id = br.probe_booking_id;
  if not found then
    return 'probe_deleted';
  end if;
  if not (private.is_queued(probe.assignment_state) or probe.assignment_state = 'assignment_in_progress') then
    return 'probe_left_the_queue';
  end if;
  if probe.assignment_state = 'assignment_in_progress' and probe.lease_expires_at > p_now then
    return null;
  end if;
  lease_seconds := (private.settings_for(br.restaurant_id)).lease_seconds;
  if br.probe_started_at is null or br.probe_started_at <= p_now - pg_catalog.make_interval(secs => lease_seconds) then
    return 'probe_idle_for_a_lease';
  end if;
  return null;
end $$;

-- May this booking run now? Returns {allowed, state, delay_ms}. Takes the breaker row lock.
create function private.breaker_admit(p_restaurant_id uuid, p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  br private.circuit_breakers;
  cooldown_ms integer;
  remaining_ms integer;
  stale text;
begin
  select * into br from private.circuit_breakers where restaurant_id = p_restaurant_id for update;
  if not found or br.state = 'closed' then
    return '{"allowed": true, "state": "closed"}'::jsonb;
  end if;
  cooldown_ms := (private.settings_for(p_restaurant_id)).breaker_cooldown_ms;
  if br.state = 'open' then
    remaining_ms := ceil(extract(epoch from (br.opened_at + pg_catalog.make_interval(secs => cooldown_ms / 1000.0) - p_now)) * 1000);
    if remaining_ms > 0 then
      return pg_catalog.jsonb_build_object('allowed', false, 'state', 'open', 'delay_ms', remaining_ms);
    end if;
    update private.circuit_breakers
       set state = 'half_open', probe_booking_id = p_booking_id, probe_started_at = p_now, updated_at = p_now
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_half_open', 'warning',
      pg_catalog.jsonb_build_object('consecutive_failures', br.consecutive_failures), p_restaurant_id, p_booking_id);
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  -- half_open: only the probe runs; others wait a little and look again, unless the probe went stale.
  if br.probe_booking_id = p_booking_id then
    update private.circuit_breakers set probe_started_at = p_now, updated_at = p_now where restaurant_id = p_restaurant_id;
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  stale := private.breaker_probe_staleness(br, p_now);
  if stale is not null then
    update private.circuit_breakers
       set probe_booking_id = p_booking_id, probe_started_at = p_now, updated_at = p_now
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_probe_replaced', 'warning',
      pg_catalog.jsonb_build_object('previous_probe', br.probe_booking_id, 'why', stale,
                                    'consecutive_failures', br.consecutive_failures), p_restaurant_id, p_booking_id);
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  return pg_catalog.jsonb_build_object('allowed', false, 'state', 'half_open', 'delay_ms', 1000);
end $$;

-- Record how a run ended. p_error: true for an error, false for any completed run.
create function private.breaker_record(p_restaurant_id uuid, p_booking_id uuid, p_error boolean, p_now timestamptz)
returns void language plpgsql set search_path = '' as $$
declare
  br private.circuit_breakers;
  threshold integer;
begin
  if not p_error then
    update private.circuit_breakers
       set state = 'closed', consecutive_failures = 0, opened_at = null, probe_booking_id = null,
           probe_started_at = null, updated_at = p_now
     where restaurant_id = p_restaurant_id and (state <> 'closed' or consecutive_failures > 0)
    returning * into br;
    if br.restaurant_id is not null then
      perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_closed', 'info', '{}'::jsonb,
                                   p_restaurant_id, p_booking_id);
    end if;
    return;
  end if;

  threshold := (private.settings_for(p_restaurant_id)).breaker_failure_threshold;
  insert into private.circuit_breakers as c (restaurant_id, consecutive_failures, updated_at)
  values (p_restaurant_id, 1, p_now)
  on conflict (restaurant_id) do update set consecutive_failures = c.consecutive_failures + 1, updated_at = p_now
  returning * into br;
  if br.state = 'half_open' or (br.state = 'closed' and br.consecutive_failures >= threshold) then
    update private.circuit_breakers
       set state = 'open', opened_at = p_now, probe_booking_id = null, probe_started_at = null
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_opened', 'error',
      pg_catalog.jsonb_build_object('consecutive_failures', br.consecutive_failures, 'from', br.state),
      p_restaurant_id, p_booking_id);
  end if;
end $$;

create function ops.reset_circuit_breaker(p_restaurant_id uuid, p_actor text, p_reason text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  br private.circuit_breakers;
begin
  perform private.act_as(p_actor, p_reason);
  if coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'say why the breaker may close: pass p_reason (what was fixed)';
  end if;
  if p_restaurant_id is null or not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  select * into br from private.circuit_breakers where restaurant_id = p_restaurant_id for update;
  if not found or (br.state = 'closed' and br.consecutive_failures = 0) then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged', 'restaurant_id', p_restaurant_id, 'state', 'closed');
  end if;
  update private.circuit_breakers
     set state = 'closed', consecutive_failures = 0, opened_at = null, probe_booking_id = null, probe_started_at = null,
         updated_at = pg_catalog.now()
   where restaurant_id = p_restaurant_id;
  -- database_role as the settings audit trigger records it: SET ROLE's role if one is set (service_role under
  -- PostgREST), or else the login role (this function is security definer, so current_user is its owner).
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  values (p_actor,
          case when pg_catalog.current_setting('role') = 'none' then session_user::text
               else pg_catalog.current_setting('role') end,
          p_restaurant_id::text, 'circuit_breaker',
          pg_catalog.jsonb_build_object('state', br.state, 'consecutive_failures', br.consecutive_failures,
                                        'opened_at', br.opened_at),
          '{"state": "closed", "consecutive_failures": 0}'::jsonb, p_reason);
  -- No booking moved it, so it is named for the path the restaurant's bookings take now (its effective mode;
  -- a function's feature flags are unknown here): auto_assign.circuit_reset for legacy and shadow.
  perform private.record_pipeline_event((select m.mode from private.effective_mode(p_restaurant_id) m),
    'coordinator.circuit_reset', 'warning',
    pg_catalog.jsonb_build_object('trigger', 'ops', 'from', br.state, 'consecutive_failures', br.consecutive_failures),
    p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('outcome', 'closed', 'restaurant_id', p_restaurant_id, 'from', br.state,
                                       'consecutive_failures', br.consecutive_failures);
end $$;
comment on function ops.reset_circuit_breaker(uuid, text, text) is
  'Close a restaurant''s circuit breaker by hand (open or half-open → closed, failures reset to 0) once the cause of its errors is fixed. p_actor (who) and p_reason (what was fixed) are required and recorded in ops.rollout_log; the change is also a coordinator.circuit_reset event (auto_assign.circuit_reset where the restaurant runs legacy or shadow). Deferred bookings run at their next due time. Returns {outcome: closed | unchanged}.';

alter table private.circuit_breakers enable row level security;
revoke all on private.circuit_breakers from public, anon, authenticated;
revoke all on function ops.reset_circuit_breaker(uuid, text, text) from public, anon, authenticated, service_role;
grant execute on function ops.reset_circuit_breaker(uuid, text, text) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
