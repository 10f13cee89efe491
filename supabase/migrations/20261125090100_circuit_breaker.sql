-- A circuit breaker per restaurant, shared by every function instance because it lives here.
-- closed: work flows. open: after `breaker_failure_threshold` consecutive errors, work is deferred until the
-- cooldown ends. half_open: one probe booking may run; its success closes the breaker, its failure reopens it.
-- Only errors count: "no table fits" and rate limiting are normal outcomes.
-- Its events are named for the path of the booking that moved it (private.record_pipeline_event).

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

-- May this booking run now? Returns {allowed, state, delay_ms}. Takes the breaker row lock.
create function private.breaker_admit(p_restaurant_id uuid, p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  br private.circuit_breakers;
  cooldown_ms integer;
  remaining_ms integer;
begin
  select * into br from private.circuit_breakers where restaurant_id = p_restaurant_id for update;
  if not found or br.state = 'closed' then
    return '{"allowed": true, "state": "closed"}'::jsonb;
  end if;
  select s.breaker_cooldown_ms into cooldown_ms from private.pipeline_settings s;
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
  -- half_open: only the probe runs; others wait a little and look again.
  if br.probe_booking_id = p_booking_id then
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

  select s.breaker_failure_threshold into threshold from private.pipeline_settings s;
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

alter table private.circuit_breakers enable row level security;
revoke all on private.circuit_breakers from public, anon, authenticated;
revoke all on function private.breaker_admit(uuid, uuid, timestamptz), private.breaker_record(uuid, uuid, boolean, timestamptz)
  from public, anon, authenticated;
