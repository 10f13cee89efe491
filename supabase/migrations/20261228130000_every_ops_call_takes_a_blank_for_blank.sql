-- Every ops call takes a blank for blank, whatever white space it is made of, and keeps names and reasons
-- without the blanks around them.
--
-- 20261228090000 made private.trimmed the test of blank in act_as, the kill switch, the breaker reset and
-- ops.cancel_booking, and left the other ops calls as they were (its header lists them):
-- ops.retry_booking, retry_bookings, release_stuck and assign_tables passed the operator's name as typed to the
-- booking's history, where private.walk_assignment_states trimmed spaces only (a name typed with a tab or a
-- no-break space around it was kept so, and sorted apart from the same name without in every report by actor);
-- ops.assign_tables took a reason of a tab for one (its history read "ops_assignment: " and a tab, not "manual
-- assignment"), and ops.resend_dead_messages took a tab or a line break for the reason it requires and audited
-- it as typed. private.walk_assignment_states now trims the actor and the reason of every transition with
-- private.trimmed (every caller's, the pipeline's own too: their texts have no blanks around them, so nothing
-- changes for them but a few microseconds a transition); ops.assign_tables falls back to "manual assignment"
-- and ops.resend_dead_messages refuses on the same test, and audits the trimmed reason.
-- Bodies as in 20261204000000 (walk_assignment_states, with the plan_cache_mode of 20261205010000 set again, as
-- create or replace drops it), 20261228000000 (assign_tables) and 20261221000000 (resend_dead_messages),
-- private.trimmed where they trimmed with btrim.

create or replace function private.walk_assignment_states(
  p_booking_id uuid,
  p_to_states text[],
  p_expected_version integer,
  p_reason text default null,
  p_metadata jsonb[] default null,
  p_actor text default 'system',
  p_next_attempt_at timestamptz default null,
  p_now timestamptz default pg_catalog.now(),
  p_count_attempt boolean default false,
  p_strategy text default null
) returns integer language plpgsql set search_path = '' as $$
declare
  b public.bookings;
  steps integer := coalesce(pg_catalog.cardinality(p_to_states), 0);
  target text := p_to_states[steps];
  metadata jsonb[];
  new_version integer;
  reason text := private.scrub_personal_data(nullif(private.trimmed(p_reason), ''));
  actor text := coalesce(private.scrub_personal_data(nullif(private.trimmed(p_actor), '')), 'system');
  illegal record;
  lease interval;
  requeued boolean;
begin
  if p_booking_id is null or steps = 0 or p_expected_version is null or pg_catalog.array_position(p_to_states, null) is not null then
    raise exception using errcode = 'AS005',
      message = 'booking id, target state and expected version are all required';
  end if;
  if pg_catalog.cardinality(p_metadata) > steps then
    raise exception using errcode = 'AS005', message = 'one metadata object per step, at most';
  end if;
  select pg_catalog.array_agg(coalesce(p_metadata[i], '{}'::jsonb) order by i) into metadata
    from pg_catalog.generate_series(1, steps) i;
  if 'manual_review' = any(p_to_states) and reason is null then
    raise exception using errcode = 'AS005',
      message = 'a booking can only be sent to manual review with a reason an operator can act on';
  end if;
  if exists (select 1 from pg_catalog.unnest(metadata) m where pg_catalog.jsonb_typeof(m) <> 'object')
     or private.jsonb_has_personal_data(pg_catalog.to_jsonb(metadata)) then
    raise exception using errcode = 'AS005',
      message = 'transition metadata must be a JSON object without personal data (guest names, e-mail addresses, phone numbers)';
  end if;

  select * into b from public.bookings where id = p_booking_id for update;
  if not found then
    raise exception using errcode = 'AS003',
      message = pg_catalog.format('booking %s does not exist', p_booking_id);
  end if;
  if b.assignment_state_version <> p_expected_version then
    raise exception using errcode = 'AS002',
      message = pg_catalog.format('booking %s is at version %s, not %s: someone else changed it first',
                                  p_booking_id, b.assignment_state_version, p_expected_version),
      hint = 'Reload the booking and decide again.';
  end if;
  select s.from_state, s.to_state into illegal
    from (select coalesce(p_to_states[i - 1], b.assignment_state) as from_state, p_to_states[i] as to_state
            from pg_catalog.generate_series(1, steps) i) s
   where not exists (select 1 from private.assignment_state_transitions t
                      where t.from_state = s.from_state and t.to_state = s.to_state)
   limit 1;
  if found then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s cannot go from "%s" to "%s"', p_booking_id, illegal.from_state, illegal.to_state);
  end if;
  if private.state_holds_tables(target) and not exists (
       select 1 from public.booking_table_assignments a where a.booking_id = p_booking_id and a.released_at is null) then
    raise exception using errcode = 'AS010',
      message = pg_catalog.format('booking %s holds no tables, so it cannot be %s', p_booking_id, target),
      hint = 'Assign tables with ops.assign_tables(booking_id, array[''T1''], actor).';
  end if;

  new_version := b.assignment_state_version + steps;
  insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, metadata, actor)
  select p_booking_id, coalesce(p_to_states[i - 1], b.assignment_state), p_to_states[i],
         b.assignment_state_version + i, reason, metadata[i], actor
    from pg_catalog.generate_series(1, steps) i;

  if target = 'assignment_in_progress' then
    lease := pg_catalog.make_interval(secs => coalesce((private.settings_for(b.restaurant_id)).lease_seconds, 30));
  end if;
  requeued := target = 'assignment_pending' and b.assignment_state in ('manual_review', 'confirmed');
  update public.bookings set
    assignment_state = target,
    assignment_state_version = new_version,
    manual_review_reason = case when target = 'manual_review' then reason end,
    status = case
      when target = 'confirmed' then 'confirmed'
      when target = 'cancelled' then 'cancelled'
      when b.assignment_state = 'confirmed' then 'pending'
      else status end,
    lease_token = case when lease is not null then pg_catalog.gen_random_uuid() end,
    lease_expires_at = p_now + lease,
    next_attempt_at = case
      when private.is_queued(target) then coalesce(p_next_attempt_at, p_now)
      else p_now + lease end,
    attempt_count = case when requeued then 0 when p_count_attempt then attempt_count + 1 else attempt_count end,
    dispatch_count = case when requeued then 0 else dispatch_count end,
    assignment_strategy = coalesce(p_strategy, assignment_strategy)
  where id = p_booking_id;

  if private.state_holds_tables(b.assignment_state) and not private.state_holds_tables(target) then
    perform private.release_booking_tables(p_booking_id, target);
  end if;

  insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
  select 'assignment.state_machine', 'booking.assignment_state_transition', 'info',
         pg_catalog.jsonb_build_object('from', coalesce(p_to_states[i - 1], b.assignment_state), 'to', p_to_states[i],
                                       'version', b.assignment_state_version + i, 'metadata', metadata[i])
           || case when reason is null then '{}'::jsonb else pg_catalog.jsonb_build_object('reason', reason) end,
         b.restaurant_id, p_booking_id, pg_catalog.now()
    from pg_catalog.generate_series(1, steps) i;
  return new_version;
end $$;

create or replace function ops.assign_tables(p_booking_id uuid, p_table_numbers text[], p_actor text,
                                  p_reason text default 'manual assignment')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  ids uuid[];
  unknown text;
  current_tables text[];
  placed_by_staff boolean;
  violation text;
  busy text[];
begin
  perform private.act_as(p_actor, p_reason);
  p_reason := coalesce(nullif(private.trimmed(p_reason), ''), 'manual assignment');
  if coalesce(pg_catalog.cardinality(p_table_numbers), 0) = 0 then
    raise exception using errcode = 'AS005', message = 'name at least one table, e.g. array[''M5'',''M6'']';
  end if;
  if pg_catalog.array_position(p_table_numbers, null) is not null
     or (select count(distinct n) from pg_catalog.unnest(p_table_numbers) n) <> pg_catalog.cardinality(p_table_numbers) then
    raise exception using errcode = 'AS005', message = 'name each table once, e.g. array[''M5'',''M6'']';
  end if;
  -- The restaurant lock before the booking's locks: the order every writer follows (see the coordinator
  -- RPCs), so an operator and a re-optimising commit can never deadlock.
  perform private.lock_restaurant(x.restaurant_id) from public.bookings x where x.id = p_booking_id;
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    raise exception using errcode = 'AS001', message = pg_catalog.format('booking %s is cancelled', p_booking_id);
  end if;
  if b.end_at <= pg_catalog.now() then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s ended at %s: there is no stay left to seat; cancel it, or have the platform record how it went',
                                  p_booking_id, b.end_at);
  end if;

  select pg_catalog.string_agg(n, ', ') into unknown from pg_catalog.unnest(p_table_numbers) n
   where not exists (select 1 from public.restaurant_tables t where t.restaurant_id = b.restaurant_id and t.table_number = n);
  if unknown is not null then
    raise exception using errcode = 'AS005', message = pg_catalog.format('no table %s in this restaurant', unknown);
  end if;
  select pg_catalog.array_agg(t.id order by t.table_number) into ids from public.restaurant_tables t
   where t.restaurant_id = b.restaurant_id and t.table_number = any(p_table_numbers);

  -- Idempotent: asking again for what staff already placed changes nothing. Tables the engine chose are held
  -- again as the operator's, so that no re-optimisation moves them.
  select pg_catalog.array_agg(t.table_number order by t.table_number),
         pg_catalog.bool_and(a.source <> 'auto')
    into current_tables, placed_by_staff
    from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
   where a.booking_id = b.id and a.released_at is null;
  if b.assignment_state = 'confirmed' and placed_by_staff
     and current_tables = (select pg_catalog.array_agg(x order by x) from pg_catalog.unnest(p_table_numbers) x) then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged', 'tables', pg_catalog.to_jsonb(current_tables));
  end if;

  violation := private.plan_violation(b, ids, (private.settings_for(b.restaurant_id)).max_tables_per_booking);
  if violation is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('those tables break a rule: %s', violation);
  end if;
  busy := private.busy_tables(b, ids);
  if busy is not null then
    raise exception using errcode = 'AS009',
      message = pg_catalog.format('already taken for this booking''s time: %s', pg_catalog.array_to_string(busy, ', ')),
      hint = 'See ops.manual_review_queue() for tables that are free.';
  end if;

  -- Walk the state machine to manual_review → assigned → confirmed, recording the operator at each step.
  if b.assignment_state = 'confirmed' then
    b.assignment_state_version := private.apply_assignment_transition(b.id, 'assignment_pending',
      b.assignment_state_version, 'ops_reassignment: ' || p_reason, '{}'::jsonb, p_actor);
    b.assignment_state := 'assignment_pending';
  end if;
  if b.assignment_state = 'assignment_in_progress' then
    b.assignment_state_version := private.apply_assignment_transition(b.id, 'assignment_pending',
      b.assignment_state_version, 'lease_expired: taken over by an operator', '{}'::jsonb, p_actor);
    b.assignment_state := 'assignment_pending';
  end if;
  if b.assignment_state <> 'manual_review' then
    b.assignment_state_version := private.apply_assignment_transition(b.id, 'manual_review',
      b.assignment_state_version, 'ops_assignment: ' || p_reason, '{}'::jsonb, p_actor);
  end if;
  b.assignment_state_version := private.seat_and_confirm(b, ids, 'ops', p_actor, 'manual', p_reason,
    pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(p_table_numbers)), '{}'::jsonb, p_actor);
  perform private.record_event('assignment.ops', 'ops.manual_assign', 'info',
    pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(p_table_numbers), 'previous', pg_catalog.to_jsonb(current_tables)),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'tables', pg_catalog.to_jsonb(p_table_numbers),
                                       'version', b.assignment_state_version);
end $$;

create or replace function ops.resend_dead_messages(p_actor text, p_reason text, p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  actor text := private.act_as(p_actor, p_reason);
  queued integer;
  still_dead integer;
begin
  if coalesce(private.trimmed(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'say why the messages may go now: pass p_reason (what was fixed)';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  with again as (
    update public.notification_outbox o
       set status = 'pending', attempts = 0, next_attempt_at = pg_catalog.now(), last_error = null, dead_because = null
      from public.bookings b
     where b.id = o.booking_id and o.status = 'dead'
       and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
       and private.message_is_resendable(o, b, pg_catalog.now())
    returning o.id)
  select count(*)::int into queued from again;
  select count(*)::int into still_dead from public.notification_outbox o
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id);
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  values (actor,
          case when pg_catalog.current_setting('role') = 'none' then session_user::text
               else pg_catalog.current_setting('role') end,
          coalesce(p_restaurant_id::text, 'global'), 'dead_messages',
          pg_catalog.jsonb_build_object('dead', queued + still_dead),
          pg_catalog.jsonb_build_object('queued', queued, 'dead', still_dead), private.trimmed(p_reason));
  perform private.record_event('assignment.ops', 'ops.messages_resent', 'info',
    pg_catalog.jsonb_build_object('queued', queued, 'still_dead', still_dead), p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'still_dead', still_dead);
end $$;

-- Planned once per session, as 20261205010000 set: create or replace resets a function's settings.
alter function private.walk_assignment_states(uuid, text[], integer, text, jsonb[], text, timestamptz, timestamptz, boolean, text)
  set plan_cache_mode = force_generic_plan;
