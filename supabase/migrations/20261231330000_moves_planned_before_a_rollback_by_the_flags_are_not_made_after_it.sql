-- Moves planned before a rollback by the deployment's flags are not made after it.
--
-- A commit that moves other guests re-checks, under the restaurant lock, that the restaurant still runs V3
-- with re-optimisation (20261227150000): the kill switch, its mode, the rollout and ops.set_reoptimization
-- each stop moves planned before them. The deployment's flags did not: the check asked for the restaurant's
-- mode without the function's ceiling, on the grounds that an instance's flags cannot change under it. A
-- rollback by the flags is a new deployment, though (FEATURE_ASSIGNMENT_PIPELINE_V3=false), and an instance of
-- the old one may still be finishing an attempt it leased before. Its commit arrived after the new
-- deployment's first lease had left the ceiling (private.function_flags) and moved other guests' tables all
-- the same, which a rollback must stop.
--
-- The check now reads the mode under the ceiling as Postgres last heard it, as everything else that asks
-- whether a restaurant runs V3 does (private.runs_v3, the queue's offers, the sweeper's event names).
-- Left as it is: the ceiling is the last lease's, so while instances of both deployments lease (an old one
-- draining its claims), each lease writes its own and the two alternate.
--
-- private.assignment_commit_unchecked: as in 20261231190000, with that check.

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
  -- The plan is for the booking as the snapshot showed it: one changed since is planned again as it is now,
  -- even where the old plan still fits it (the 8's joined tables for a party cut to 2; a plan it breaks
  -- was answered above, naming the rule).
  if private.booking_changed_since_snapshot(b, settings) then
    return private.rules_changed_conflict(b, settings,
      'booking_changed: its party, time or stay changed after it was planned', lock_wait_ms);
  end if;

  if move_count > 0 then
    -- Planned while the restaurant ran V3 with re-optimisation on; since then an operator pulled the kill
    -- switch, switched it off or out of V3, turned re-optimisation off, or rolled back by the deployment's
    -- flags (the ceiling a lease of the new deployment left): nobody is moved, and the attempt ends as a
    -- conflict, so the next plans the booking as the restaurant runs now.
    if not settings.reoptimize
       or (select d.mode from private.decide_mode(b.restaurant_id, private.function_ceiling()) d) <> 'v3' then
      return pg_catalog.jsonb_build_object('outcome', 'conflict',
        'reason', 'rule_changed: its plan moved other bookings, but since it began the restaurant stopped running V3 with re-optimisation (the kill switch, its mode, the rollout, the deployment''s flags or ops.set_reoptimization): planned again as it runs now');
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

