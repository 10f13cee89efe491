-- ops.assign_tables pins a booking on the tables the engine chose when an operator asks for those tables.
--
-- It answered "unchanged" whenever a confirmed booking already held the tables asked for, whoever had placed
-- them. A booking the pipeline seated on M5, then "assigned" to M5 by an operator for a regular who wants the
-- window, stayed a placement the engine may move (source auto): the operator was told the table was in place,
-- no ops.manual_assign event or history row recorded the request, and a later re-optimising commit or an
-- accepted alternative could move the booking to M7 without a word. Only a booking whose tables are all the
-- staff's already is unchanged now; otherwise the tables are held again as the operator's, as for other tables.
-- Body as in 20261210010000, with that check.

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
  p_reason := coalesce(nullif(pg_catalog.btrim(p_reason), ''), 'manual assignment');
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

comment on function ops.assign_tables(uuid, text[], text, text) is
  'Assign the named tables to a booking by hand, e.g. select ops.assign_tables(''<booking id>'', array[''M5'',''M6''], ''ana (ops)''). Same rules as the engine (AS007), refuses taken tables (AS009), tables named twice or null (AS005), a booking whose stay is over or whose party has arrived or finished (AS001). Tables placed by hand are never moved by re-optimisation: asking for the tables the engine chose pins them. Idempotent (unchanged when staff already placed those tables); confirms the booking and records the operator in its history.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
