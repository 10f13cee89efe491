-- A commit that lost its tables to a seated party re-plans, and one whose moves would not make room undoes
-- them. Two reviews of assignment_commit found:
--   * its exclusion_violation handler, "unreachable while every writer takes the restaurant lock", is
--     reachable since a checked-in party's longer stay is held without that lock (20261210040000): the commit
--     answered a bare conflict with no snapshot, so the coordinator gave the attempt up as a conflict and the
--     booking waited for a retry instead of being planned again at once;
--   * after moves were made, a new booking's table still taken answered conflict and committed the moves
--     without seating the new booking. Taken by a seated party's longer stay meanwhile, it is a lost race,
--     now answered with the moves undone; taken by a booking the plan moved (which the engine never
--     proposes), it is refused as the plan's error (AS007), the moves undone with it.
-- A security review of the RPCs a Data API client can call added: the commit's metadata was merged last into
-- the coordinator.confirmed event, so a caller could overwrite what the commit measured (attempts,
-- duration_ms, strategy) and store its own words there; a strategy was any text, a negative duration or moves
-- that are not a list failed with raw errors. Now the metadata keeps only the engine's kind of values and
-- never replaces the commit's own, and those arguments are refused with AS005.

-- What the engine reports with a commit, as the confirmed event keeps it: its own keys (score, slack,
-- candidates, replans, mode, and exact, the exact fallback's details one level down), each a number, a
-- boolean or a one-token string; anything else — words a caller typed, or a key a dashboard reads, such as
-- result — is left out.
create function private.engine_details(p_metadata jsonb)
returns jsonb language plpgsql immutable set search_path = '' as $$
begin
  return (select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}'::jsonb)
    from pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(p_metadata) = 'object' then p_metadata
                                    else '{}'::jsonb end) e
   where e.key in ('score', 'slack', 'candidates', 'replans', 'mode', 'exact')
     and (private.is_engine_value(e.value)
          or (pg_catalog.jsonb_typeof(e.value) = 'object'
              and not exists (select 1 from pg_catalog.jsonb_each(e.value) n
                               where not (n.key ~ '^[a-z_]{1,40}$' and private.is_engine_value(n.value))))));
end $$;

create function private.is_engine_value(p_value jsonb)
returns boolean language sql immutable set search_path = '' as $$
  select pg_catalog.jsonb_typeof(p_value) in ('number', 'boolean')
         or (pg_catalog.jsonb_typeof(p_value) = 'string' and (p_value #>> '{}') ~ private.metadata_token_pattern());
$$;

-- Body as in 20261210030000, with both.
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
    if not settings.reoptimize then
      raise exception using errcode = 'AS005', message = 'moves are only allowed where re-optimisation is on';
    end if;
    -- Taken since the snapshot by a booking the plan does not move: a lost race, found before anything moves.
    busy := private.busy_tables(b, p_table_ids,
      array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)));
    if busy is null then
      begin
        moved := private.apply_moves(b, p_moves, settings.max_tables_per_booking);
      exception when sqlstate 'AS007' then
        -- A move that breaks a rule only because a table was taken out of service (or the like) since.
        if private.rules_changed_since_snapshot(b, settings) then
          return private.rules_changed_conflict(b, settings, 'move_breaks_a_rule: ' || sqlerrm, lock_wait_ms);
        end if;
        raise;
      end;
      if moved is not null then
        return moved || pg_catalog.jsonb_build_object('snapshot', private.replan_snapshot(b, settings));
      end if;
      -- The moves are made. A table of the new booking still taken now is one a seated party's longer stay
      -- took meanwhile (a lost race: the handler below answers it, undoing the moves), or one the plan moved
      -- a booking onto, which the engine never proposes: refused, so that the moves are undone with the rest.
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

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
