-- A blank is blank whatever white space it is made of.
--
-- Who acts, and why a kill switch is pulled or a breaker closed, must be said: blank was refused, but blank
-- meant spaces only (btrim). A tab, a line break or a no-break space got through, so ops.set_kill_switch(true,
-- E'\t', E'\n') pulled the kill switch with a tab for its operator and a line break for its reason in the
-- rollout log, and ops.cancel_booking(id, E'\t', 'ana') left a tab as the history's reason instead of
-- "cancelled by ops"; a reason of 500 blanks and then words kept the blanks (act_as cuts it to 500); and
-- ops.cancel_booking and ops.reset_circuit_breaker kept their operator's name as typed, white space and all
-- (an attacker's review of what operators may type). Not changed here: ops.retry_booking, retry_bookings,
-- release_stuck, assign_tables and resend_dead_messages still pass the name as typed to the history (which
-- trims spaces only), and assign_tables and resend_dead_messages still test their reason with btrim. private.trimmed trims every kind of
-- white space, and the invisible characters that read as none (zero-width spaces and joiners, soft hyphen,
-- word joiner, invisible operators, Hangul fillers, byte-order mark),
-- once the text is in its NFKC form (which turns the no-break and the other wide spaces into plain ones).
-- private.act_as: body as in 20261223000000; ops.set_kill_switch: 20261202300000; ops.reset_circuit_breaker:
-- 20261226020000 and ops.cancel_booking: 20261226010000 (both now pass on act_as's name); each with
-- private.trimmed where it trimmed spaces, and act_as with it on the reason it keeps.

create function private.trimmed(p_text text)
returns text language sql immutable set search_path = '' as $$
  select pg_catalog.btrim(pg_catalog.normalize(p_text, 'NFKC'),
                          U&' \0009\000A\000B\000C\000D\0085\00A0\00AD\115F\1160\1680\180E\200B\200C\200D\2028\2029\2060\2061\2062\2063\2064\3164\FEFF');
$$;

create or replace function private.act_as(p_actor text, p_reason text default null)
returns text language plpgsql set search_path = '' as $$
declare
  actor text := private.scrub_and_cut(private.trimmed(p_actor), 200);
begin
  if coalesce(actor, '') = '' then
    raise exception using errcode = 'AS005', message = 'say who is acting: pass p_actor (a name or ticket, not a guest''s data)';
  end if;
  perform pg_catalog.set_config('pipeline.actor', pg_catalog.statement_timestamp()::text || '|' || actor, true);
  perform pg_catalog.set_config('pipeline.reason', coalesce(private.scrub_and_cut(private.trimmed(p_reason), 500), ''), true);
  return actor;
end $$;

create or replace function ops.set_kill_switch(p_on boolean, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_on is null then
    raise exception using errcode = 'AS005', message = 'say true (everything on the legacy path) or false';
  end if;
  if p_on and coalesce(private.trimmed(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'give a reason when pulling the kill switch';
  end if;
  update private.rollout_settings
     set kill_switch = p_on, kill_switch_reason = case when p_on then pg_catalog.current_setting('pipeline.reason') end,
         updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;

create or replace function ops.reset_circuit_breaker(p_restaurant_id uuid, p_actor text, p_reason text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  br private.circuit_breakers;
  actor text;
begin
  actor := private.act_as(p_actor, p_reason);
  if coalesce(private.trimmed(p_reason), '') = '' then
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
  values (actor,
          case when pg_catalog.current_setting('role') = 'none' then session_user::text
               else pg_catalog.current_setting('role') end,
          p_restaurant_id::text, 'circuit_breaker',
          pg_catalog.jsonb_build_object('state', br.state, 'consecutive_failures', br.consecutive_failures,
                                        'opened_at', br.opened_at),
          '{"state": "closed", "consecutive_failures": 0}'::jsonb, private.trimmed(p_reason));
  -- No booking moved it, so it is named for the path the restaurant's bookings take now (its mode under the
  -- function's flags as last heard): auto_assign.circuit_reset for legacy and shadow.
  perform private.record_pipeline_event((select m.mode from private.decide_mode(p_restaurant_id, private.function_ceiling()) m),
    'coordinator.circuit_reset', 'warning',
    pg_catalog.jsonb_build_object('trigger', 'ops', 'from', br.state, 'consecutive_failures', br.consecutive_failures),
    p_restaurant_id, null);
  -- The queue the breaker held has nothing in flight ahead of it now: nobody else would wake it.
  perform private.wake_stranded_queues(pg_catalog.now(), p_restaurant_id);
  return pg_catalog.jsonb_build_object('outcome', 'closed', 'restaurant_id', p_restaurant_id, 'from', br.state,
                                       'consecutive_failures', br.consecutive_failures);
end $$;

create or replace function ops.cancel_booking(p_booking_id uuid, p_reason text, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  result jsonb;
  actor text;
begin
  actor := private.act_as(p_actor, p_reason);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged');
  end if;
  -- A blank reason is none: the history says who cancelled, never an empty why.
  result := public.cancel_booking(b.id, coalesce(nullif(private.trimmed(p_reason), ''), 'cancelled by ops'), actor);
  -- The reason is the operator's own words: it stays with the booking's history, not in the event.
  perform private.record_event('assignment.ops', 'ops.cancel', 'info',
    pg_catalog.jsonb_build_object('from_state', b.assignment_state), b.restaurant_id, b.id);
  return result;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
