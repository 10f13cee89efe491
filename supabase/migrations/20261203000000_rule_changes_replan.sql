-- A rule that changes between begin and commit is a re-plan, not an engine error.
--
-- The engine plans on the snapshot assignment_begin (or a commit that lost a race) handed it. If, before the
-- commit, the booking changed (party size, time, buffers) or its restaurant's floor plan did (a table taken
-- out of service, a capacity lowered, an adjacency removed, service hours moved), the plan can break a rule
-- that held on that snapshot. That is not a bug of the engine and must not count toward the restaurant's
-- circuit breaker: the commit answers `conflict` with a fresh snapshot and a reason (`rule_changed: …`), as
-- for a lost race, and the coordinator plans again.
--
-- To tell the two apart, a digest of the inputs the rules read is kept for the snapshot the engine plans on
-- (private.planned_rules): taken when a lease is granted (a trigger on the booking, so it holds whichever
-- function grants the lease; assignment_begin builds the snapshot in the same transaction, under the
-- restaurant lock) and again with every fresh snapshot a commit hands back. A commit whose plan breaks a rule
-- compares it with the digest of the same inputs now: different → the rules changed under the plan
-- (re-plan); the same → the plan breaks a rule on the very snapshot it was given, an engine bug (AS007, as
-- before). A change that lands between the lease and the snapshot makes the digest older than the snapshot,
-- which can only turn an error into a re-plan, never hide a change.

create table private.planned_rules (
  booking_id uuid primary key references public.bookings (id) on delete cascade,
  lease_token uuid not null,
  digest text not null,
  planned_at timestamptz not null default pg_catalog.clock_timestamp()
);
comment on table private.planned_rules is
  'For the booking''s current lease: a digest of what the rules read (the booking''s party size and window, its restaurant''s tables, adjacency, service periods and combination limit) when the engine''s snapshot was taken. One row per booking, replaced at every snapshot.';
alter table private.planned_rules enable row level security;
revoke all on private.planned_rules from public, anon, authenticated, service_role;

-- A digest of everything private.plan_violation and private.apply_moves read besides availability: the
-- booking's party size, time and held window, and its restaurant's time zone, tables (every one, with the
-- flags and sizes the rules check), adjacency, service periods and combination limit.
create function private.rules_digest(b public.bookings, p_settings private.pipeline_settings)
returns text language plpgsql stable set search_path = '' as $$
begin
  return pg_catalog.md5(pg_catalog.jsonb_build_object(
    'party_size', b.party_size, 'start_at', b.start_at, 'end_at', b.end_at,
    'window', private.blocked_window(b)::text,
    'max_tables', p_settings.max_tables_per_booking,
    'timezone', (select r.timezone from public.restaurants r where r.id = b.restaurant_id),
    'tables', (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
                        t.id, t.zone_id, t.capacity, t.min_party_size, t.max_party_size, t.active, t.out_of_service,
                        t.movable) order by t.id)
                 from public.restaurant_tables t where t.restaurant_id = b.restaurant_id),
    'adjacency', (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.table_a, a.table_b)
                                              order by a.table_a, a.table_b)
                    from public.table_adjacency a where a.restaurant_id = b.restaurant_id),
    'service_periods', (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(p.day_of_week, p.starts_at, p.ends_at)
                                                    order by p.day_of_week, p.starts_at, p.ends_at)
                          from public.service_periods p where p.restaurant_id = b.restaurant_id))::text);
end $$;

-- Did the rules' inputs change since the snapshot this lease planned on? False when no digest was kept for
-- this lease (an attempt begun before this migration): without evidence of a change, a broken rule stays
-- the engine's.
create function private.rules_changed_since_snapshot(b public.bookings, p_settings private.pipeline_settings)
returns boolean language plpgsql stable set search_path = '' as $$
begin
  return coalesce((select p.digest <> private.rules_digest(b, p_settings)
                     from private.planned_rules p
                    where p.booking_id = b.id and p.lease_token = b.lease_token), false);
end $$;

-- Keep the digest for the booking's current lease, for the snapshot about to be handed to the engine.
create function private.remember_planned_rules(b public.bookings, p_settings private.pipeline_settings)
returns void language plpgsql set search_path = '' as $$
begin
  insert into private.planned_rules (booking_id, lease_token, digest, planned_at)
  values (b.id, b.lease_token, private.rules_digest(b, p_settings), pg_catalog.clock_timestamp())
  on conflict (booking_id) do update
    set lease_token = excluded.lease_token, digest = excluded.digest, planned_at = excluded.planned_at;
end $$;

-- A new lease means a new snapshot: remember what the rules read now.
create function private.remember_rules_for_new_lease()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  perform private.remember_planned_rules(new, private.settings_for(new.restaurant_id));
  return null;
end $$;
create trigger remember_rules_for_new_lease
  after update on public.bookings
  for each row when (new.lease_token is not null and new.lease_token is distinct from old.lease_token)
  execute function private.remember_rules_for_new_lease();

-- The fresh snapshot a commit hands back, with its digest kept for the next commit to compare with.
create function private.replan_snapshot(b public.bookings, p_settings private.pipeline_settings)
returns jsonb language plpgsql set search_path = '' as $$
begin
  perform private.remember_planned_rules(b, p_settings);
  return private.assignment_snapshot(b, p_settings);
end $$;

-- The answer to a plan that broke a rule because the rules changed under it: a conflict with a fresh snapshot
-- and a reason that names the rule, recorded as a commit conflict.
create function private.rules_changed_conflict(b public.bookings, p_settings private.pipeline_settings,
                                               p_violation text, p_lock_wait_ms numeric)
returns jsonb language plpgsql set search_path = '' as $$
begin
  perform private.record_pipeline_event(b.assignment_mode, 'coordinator.commit_conflict', 'info',
    pg_catalog.jsonb_build_object('cause', 'rule_changed', 'rule', pg_catalog.split_part(p_violation, ':', 1),
                                  'attempt', b.attempt_count, 'lock_wait_ms', p_lock_wait_ms),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object(
    'outcome', 'conflict',
    'reason', pg_catalog.format('rule_changed: the booking or its tables changed after the snapshot was taken (%s)',
                                p_violation),
    'snapshot', private.replan_snapshot(b, p_settings));
end $$;

create or replace function public.assignment_commit(
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
  move_count integer := coalesce(pg_catalog.jsonb_array_length(p_moves), 0);
  restaurant uuid;
begin
  if p_booking_id is null or p_lease_token is null or p_strategy is null then
    raise exception using errcode = 'AS005', message = 'booking_id, lease_token and strategy are required';
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
    -- Changed since the snapshot: re-plan. Unchanged: the engine broke a rule it could see (AS007).
    if private.rules_changed_since_snapshot(b, settings) then
      return private.rules_changed_conflict(b, settings, violation, lock_wait_ms);
    end if;
    raise exception using errcode = 'AS007', message = pg_catalog.format('the proposed tables break a rule: %s', violation);
  end if;

  if move_count > 0 then
    if not settings.reoptimize then
      raise exception using errcode = 'AS005', message = 'moves are only allowed where re-optimisation is on';
    end if;
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
  end if;
  busy := private.busy_tables(b, p_table_ids);
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
      pg_catalog.jsonb_build_object('strategy', p_strategy, 'attempts', b.attempt_count, 'duration_ms', p_duration_ms,
                                    'table_count', pg_catalog.cardinality(p_table_ids), 'lock_wait_ms', lock_wait_ms,
                                    'moved_bookings', move_count)
        || coalesce(p_metadata, '{}'::jsonb),
      b.restaurant_id, b.id);
    -- The success metric the rollout plan's dashboards count (event_type LIKE '%success%').
    perform private.record_event('assignment.coordinator', 'assignment.success', 'info',
      pg_catalog.jsonb_build_object('strategy', p_strategy, 'duration_ms', p_duration_ms), b.restaurant_id, b.id);
  end if;
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'version', b.assignment_state_version + 2,
                                       'lock_wait_ms', lock_wait_ms);
exception when exclusion_violation then
  -- Unreachable while every writer takes the restaurant lock; kept so a race is an outcome, not a crash.
  return '{"outcome": "conflict"}'::jsonb;
end $$;
comment on function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz) is
  'Finish an attempt with the engine''s tables: validates every rule, re-checks availability under the restaurant lock, writes the assignments, moves assigned → confirmed, queues one confirmation, stores the shadow comparison (p_shadow, shadow mode only) and records the events. A plan that breaks a rule because the booking or its floor plan changed after the snapshot was taken is a conflict with reason rule_changed and a fresh snapshot (re-plan); one that breaks a rule on the very snapshot it was planned on raises AS007 (an engine bug). p_moves (re-optimisation, where enabled) moves not-yet-seated bookings first: [{booking_id, from_table_ids, to_table_ids}]. Returns {outcome: confirmed | conflict (with a fresh snapshot, and busy_tables or a reason) | lease_lost}.';

revoke all on function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)
  from public, anon, authenticated, service_role;
grant execute on function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)
  to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
