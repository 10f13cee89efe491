-- A platform's change that races a re-optimising commit is a lost race, not an engine error.
--
-- A commit whose plan moves other bookings re-checks each move under the restaurant lock: the booking to
-- move must still hold the tables the plan moves it from. Two changes a platform may make meanwhile passed
-- that check and then ended in AS007, the code for a plan that breaks a rule, which the coordinator
-- reports as engine_error and counts against the restaurant's breaker (five open it), and which sends the
-- booking to review after its attempts:
-- - a booking the plan moves is changed (a larger party, a later time) and seated again on the same tables
--   before the commit takes the lock. Its move then broke a rule, or landed on the new booking's tables,
--   for a booking the plan never saw. Each move now carries the booking as the snapshot showed it (its
--   hold's window and its party; public.assignment_commit's p_moves, optional, sent by the coordinator
--   from this release on), and one that differs is "a booking to move changed since the snapshot": a
--   conflict, re-planned on a fresh snapshot, as a move whose tables changed already was;
-- - the new booking's own stay changes while it is in progress (a later end, a longer buffer after): a
--   move planned beside its old stay then lands on one of its tables. That check now runs inside the block
--   that already turned a move breaking a rule into a re-plan when the booking's rules changed since the
--   snapshot (rules_changed_since_snapshot), so it is answered the same way; the moves are undone either
--   way.
--
-- What the engine proposes on the snapshot it saw is checked as before: a move that breaks a rule or lands
-- on the new booking's tables with nothing changed since is still AS007. The moves of an operator's
-- alternative (ops.accept_alternative) carry no snapshot view and are checked as before. Bodies as in
-- 20261228040000 (apply_moves) and 20261227150000 (the commit) otherwise.

create or replace function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer, p_operator text default null)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  held_window tstzrange;
  staff boolean;
  violation text;
  conflict text;
  lock_wait text := pg_catalog.current_setting('lock_timeout');
begin
  if pg_catalog.jsonb_array_length(p_moves) > 200 then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('one commit moves at most 200 bookings, not %s', pg_catalog.jsonb_array_length(p_moves));
  end if;
  if (select count(*) <> count(distinct x.booking_id)
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)) then
    raise exception using errcode = 'AS007', message = 'a proposed move list names the same booking twice';
  end if;
  -- The bookings to move, locked at once in one order, waiting 50 ms at most for a row another transaction holds:
  -- a platform's update of several bookings may be waiting for this commit's own row, and then this commit must
  -- be the one to give up, well within deadlock_timeout. (One statement, so one subtransaction, however many.)
  begin
    perform pg_catalog.set_config('lock_timeout', '50ms', true);
    perform 1 from public.bookings
     where id in (select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))
       and restaurant_id = b.restaurant_id
     order by id
       for no key update;
    perform pg_catalog.set_config('lock_timeout', lock_wait, true);
  exception when lock_not_available then
    if p_operator is not null then
      raise exception using errcode = 'AS008',
        message = 'a booking this alternative moves is being changed by another transaction: try again in a few seconds';
    end if;
    conflict := 'a booking to move is being changed by another transaction';
  end;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves)
             as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[], window_start timestamptz,
                  window_end timestamptz, party_size integer) loop
    exit when conflict is not null;
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto'),
           pg_catalog.tstzrange(min(pg_catalog.lower(a.during)), max(pg_catalog.upper(a.during)))
      into held, staff, held_window
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t)
       -- Held again on the same tables since, for another time or party (the snapshot's view, to the
       -- millisecond the engine keeps): the plan's move was made for a booking that is no longer there.
       or (m.party_size is not null and o.party_size is distinct from m.party_size)
       or (m.window_start is not null and not coalesce(
             abs(extract(epoch from pg_catalog.lower(held_window) - m.window_start)) < 0.001
             and abs(extract(epoch from pg_catalog.upper(held_window) - m.window_end)) < 0.001, false)) then
      conflict := 'a booking to move changed since the snapshot';
      exit;
    end if;
    violation := private.table_rule_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
    -- Taken since the snapshot by a booking the plan does not move: a re-plan, not a failed insert.
    if private.busy_tables(o, m.to_table_ids,
         array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))) is not null then
      conflict := 'a table a booking would move to was taken since the snapshot';
      exit;
    end if;
  end loop;
  -- Two of its moves onto one table at once: a re-plan, as when a move's table was taken (one of those bookings
  -- may have changed its time since the snapshot), answered here rather than by a failed insert.
  if conflict is null and exists (
      select 1
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[])
        join pg_catalog.jsonb_to_recordset(p_moves) as y(booking_id uuid, to_table_ids uuid[])
          on y.booking_id > x.booking_id and y.to_table_ids operator(pg_catalog.&&) x.to_table_ids
        join public.bookings ox on ox.id = x.booking_id
        join public.bookings oy on oy.id = y.booking_id
       where private.blocked_window(ox) operator(pg_catalog.&&) private.blocked_window(oy)) then
    conflict := 'two of its moves need the same table at the same time';
  end if;
  if conflict is not null then
    -- The commit re-plans on a fresh snapshot; recorded as its lost races are. An operator's refusal is rolled
    -- back with everything else, so it records nothing.
    if p_operator is null then
      perform private.record_pipeline_event(b.assignment_mode, 'coordinator.commit_conflict', 'info',
        pg_catalog.jsonb_build_object('cause', 'moves_stale', 'detail', conflict, 'attempt', b.attempt_count,
                                      'moved_bookings', pg_catalog.jsonb_array_length(p_moves)),
        b.restaurant_id, b.id);
    end if;
    return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', conflict);
  end if;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid) loop
    perform private.release_booking_tables(m.booking_id, 'moved');
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[]) loop
    insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
    select o2.id, o2.restaurant_id, t, private.blocked_window(o2), 'auto', coalesce(p_operator, 'coordinator:reoptimize')
      from public.bookings o2, pg_catalog.unnest(m.to_table_ids) t where o2.id = m.booking_id;
    -- The holds stay 'auto' (the engine may move them again); who moved them is the operator, when one did.
    if p_operator is null then
      perform private.record_pipeline_event(b.assignment_mode, 'coordinator.booking_moved', 'info',
        pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
        b.restaurant_id, m.booking_id);
    else
      perform private.record_event('assignment.ops', 'ops.booking_moved', 'info',
        pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
        b.restaurant_id, m.booking_id);
    end if;
  end loop;
  return null;
end $$;


create or replace function private.assignment_commit_unchecked(
  p_booking_id uuid,
  p_lease_token uuid,
  p_table_ids uuid[],
  p_strategy text,
  p_duration_ms integer default null,
  p_metadata jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_moves jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  settings private.pipeline_settings;
  violation text;
  busy text[];
  lock_wait_ms numeric;
  moved jsonb;
  move_count integer := case when pg_catalog.jsonb_typeof(p_moves) = 'array' then pg_catalog.jsonb_array_length(p_moves) else 0 end;
  restaurant uuid;
begin
  if p_booking_id is null or p_lease_token is null or p_strategy is null then
    raise exception using errcode = 'AS005', message = 'booking_id, lease_token and strategy are required';
  end if;
  if p_strategy !~ '^[a-z][a-z0-9_]{0,39}$' then
    raise exception using errcode = 'AS005', message = 'strategy is the engine''s name for it, e.g. scarcity_fit';
  end if;
  if p_duration_ms < 0 then
    raise exception using errcode = 'AS005', message = 'duration_ms is not negative';
  end if;
  if pg_catalog.jsonb_typeof(p_moves) not in ('array', 'null') then
    raise exception using errcode = 'AS005', message = 'moves are a list of {booking_id, from_table_ids, to_table_ids}';
  end if;
  select x.restaurant_id into restaurant from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  -- Commits of one restaurant are serialised, so the availability re-check below cannot go stale. The
  -- restaurant lock comes before any booking row (the lock order above), including the rows of bookings
  -- that re-optimisation moves.
  lock_wait_ms := private.lock_restaurant(restaurant);
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  settings := private.settings_for(b.restaurant_id);
  violation := private.plan_violation(b, p_table_ids, settings.max_tables_per_booking);
  if violation is not null then
    -- Changed since the snapshot: re-plan. Service hours are not in the snapshot, so a stay they no longer
    -- cover is never the engine's fault: a re-plan, and the next begin sends it to review. Otherwise the
    -- engine broke a rule it could see (AS007).
    if private.rules_changed_since_snapshot(b, settings) or private.service_hours_problem(b) is not null then
      return private.rules_changed_conflict(b, settings, violation, lock_wait_ms);
    end if;
    raise exception using errcode = 'AS007', message = pg_catalog.format('the proposed tables break a rule: %s', violation);
  end if;

  if move_count > 0 then
    -- Planned while the restaurant ran V3 with re-optimisation on; since then an operator pulled the kill
    -- switch, switched it off or out of V3, or turned re-optimisation off: nobody is moved, and the attempt
    -- ends as a conflict, so the next plans the booking as the restaurant runs now.
    if not settings.reoptimize or (select d.mode from private.decide_mode(b.restaurant_id, null) d) <> 'v3' then
      return pg_catalog.jsonb_build_object('outcome', 'conflict',
        'reason', 'rule_changed: its plan moved other bookings, but since it began the restaurant stopped running V3 with re-optimisation (the kill switch, its mode, the rollout or ops.set_reoptimization): planned again as it runs now');
    end if;
    -- Taken since the snapshot by a booking the plan does not move: a lost race, found before anything moves.
    busy := private.busy_tables(b, p_table_ids,
      array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)));
    if busy is null then
      begin
        moved := private.apply_moves(b, p_moves, settings.max_tables_per_booking);
        if moved is null then
          -- The moves are made. A table of the new booking still taken now is one a seated party's longer
          -- stay took meanwhile (a lost race: the handler at the end answers it, undoing the moves), or one
          -- the plan moved a booking onto, which the engine never proposes on the snapshot it saw: refused,
          -- so that the moves are undone with the rest.
          if private.busy_tables(b, p_table_ids,
               array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))) is not null then
            raise exception using errcode = 'exclusion_violation';
          end if;
          busy := private.busy_tables(b, p_table_ids);
          if busy is not null then
            raise exception using errcode = 'AS007',
              message = pg_catalog.format('the plan moves a booking onto a table it seats the new booking on: %s',
                                          pg_catalog.array_to_string(busy, ', '));
          end if;
        end if;
      exception when sqlstate 'AS007' then
        -- A move that breaks a rule, or lands on the new booking's tables, only because a table was taken out
        -- of service, or the new booking's own stay changed (a later end, a longer buffer), since the snapshot:
        -- a re-plan, the moves undone.
        if private.rules_changed_since_snapshot(b, settings) then
          return private.rules_changed_conflict(b, settings, 'move_breaks_a_rule: ' || sqlerrm, lock_wait_ms);
        end if;
        raise;
      end;
      if moved is not null then
        return moved || pg_catalog.jsonb_build_object('snapshot', private.replan_snapshot(b, settings));
      end if;
    end if;
  end if;
  busy := coalesce(busy, private.busy_tables(b, p_table_ids));
  if busy is not null then
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.commit_conflict', 'info',
      pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(busy), 'attempt', b.attempt_count,
                                    'lock_wait_ms', lock_wait_ms),
      b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'conflict', 'busy_tables', pg_catalog.to_jsonb(busy),
                                         'snapshot', private.replan_snapshot(b, settings));
  end if;

  perform private.seat_and_confirm(b, p_table_ids, 'auto', 'coordinator:' || p_strategy, p_strategy, null,
    pg_catalog.jsonb_build_object('strategy', p_strategy, 'tables', pg_catalog.cardinality(p_table_ids),
                                  'moved_bookings', move_count),
    pg_catalog.jsonb_build_object('strategy', p_strategy), 'coordinator');
  perform private.record_attempt(b, 'success', null, p_strategy, p_duration_ms, p_metadata);
  perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  perform private.record_shadow(b, p_shadow);
  if private.legacy_path(b.assignment_mode) then
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.attempt', 'info',
      private.legacy_attempt_context(b, true), b.restaurant_id, b.id);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.confirmed', 'info',
      private.legacy_confirmed_context(b, p_strategy, p_duration_ms, lock_wait_ms), b.restaurant_id, b.id);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.summary', 'info',
      private.legacy_summary_context('succeeded', b.attempt_count, p_duration_ms), b.restaurant_id, b.id);
  else
    perform private.record_event('assignment.coordinator', 'coordinator.confirmed', 'info',
      -- The engine's details first, so they can add to what the commit measured but never replace it.
      private.engine_details(p_metadata)
        || pg_catalog.jsonb_build_object('strategy', p_strategy, 'attempts', b.attempt_count, 'duration_ms', p_duration_ms,
                                         'table_count', pg_catalog.cardinality(p_table_ids), 'lock_wait_ms', lock_wait_ms,
                                         'moved_bookings', move_count),
      b.restaurant_id, b.id);
    -- The success metric the rollout plan's dashboards count (event_type LIKE '%success%').
    perform private.record_event('assignment.coordinator', 'assignment.success', 'info',
      pg_catalog.jsonb_build_object('strategy', p_strategy, 'duration_ms', p_duration_ms), b.restaurant_id, b.id);
  end if;
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'version', b.assignment_state_version + 2,
                                       'lock_wait_ms', lock_wait_ms);
exception when exclusion_violation then
  -- A checked-in party's longer stay took a table after the check (its trigger holds tables without the
  -- restaurant lock, 20261210040000): a lost race, re-planned like one on a fresh snapshot. Everything this
  -- call wrote is undone; the lease stays.
  busy := private.busy_tables(b, p_table_ids);
  perform private.record_pipeline_event(b.assignment_mode, 'coordinator.commit_conflict', 'info',
    pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(busy), 'attempt', b.attempt_count,
                                  'lock_wait_ms', lock_wait_ms),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'conflict', 'busy_tables', pg_catalog.to_jsonb(busy),
                                       'snapshot', private.replan_snapshot(b, settings));
end $$;


revoke all on all routines in schema private from public, anon, authenticated;
