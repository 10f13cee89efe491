-- An operator's change that frees slots wakes the queue waiting for them.
--
-- ops.reset_circuit_breaker closed the breaker, and the bookings it had held in the queue ran at their next due
-- time (the rest of the breaker's cooldown, or the deferral's fallback); ops.set_max_parallel raised the limit,
-- and the queue took the new slots only when a booking in flight left its slot. With nothing in flight nobody
-- woke the queue but the sweeper's stranded-queue pass. Both now wake it at once the way that pass does
-- (private.wake_stranded_queues: only a queue with nothing in flight ahead of it and a closed breaker, up to
-- its max_parallel, longest-waiting first); a running claim loop takes the woken bookings next, or the sweep
-- dispatches them within 5 s. A queue with bookings in flight is woken, as before, as they leave their slots,
-- each leave waking as many as the new limit leaves free. Bodies as in 20261201101800 and 20261201100900.

create or replace function ops.set_max_parallel(p_value integer, p_actor text, p_restaurant_id uuid default null,
                                     p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_value is not null and p_value not between 1 and 20 then
    raise exception using errcode = 'AS005', message = 'max_parallel must be between 1 and 20';
  end if;
  if p_restaurant_id is null then
    if p_value is null then
      raise exception using errcode = 'AS005', message = 'the global max_parallel cannot be null';
    end if;
    update private.pipeline_settings set max_parallel = p_value, updated_at = pg_catalog.now();
  else
    if not exists (select 1 from public.restaurants where id = p_restaurant_id) then
      raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
    end if;
    insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (p_restaurant_id, p_value)
    on conflict (restaurant_id) do update set max_parallel = excluded.max_parallel, updated_at = pg_catalog.now();
  end if;
  -- A queue with nothing in flight has nobody to wake it for the slots just added.
  perform private.wake_stranded_queues(pg_catalog.now(), p_restaurant_id);
  return private.max_parallel_report(p_restaurant_id);
end $$;

create or replace function ops.reset_circuit_breaker(p_restaurant_id uuid, p_actor text, p_reason text)
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
  -- The queue the breaker held has nothing in flight ahead of it now: nobody else would wake it.
  perform private.wake_stranded_queues(pg_catalog.now(), p_restaurant_id);
  return pg_catalog.jsonb_build_object('outcome', 'closed', 'restaurant_id', p_restaurant_id, 'from', br.state,
                                       'consecutive_failures', br.consecutive_failures);
end $$;

comment on function ops.reset_circuit_breaker(uuid, text, text) is
  'Close a restaurant''s circuit breaker by hand (open or half-open → closed, failures reset to 0) once the cause of its errors is fixed. p_actor (who) and p_reason (what was fixed) are required and recorded in ops.rollout_log; the change is also a coordinator.circuit_reset event (auto_assign.circuit_reset where the restaurant runs legacy or shadow). The bookings it held in the queue are woken at once (as many as the restaurant''s slots) when nothing is in flight ahead of them. Returns {outcome: closed | unchanged}.';
