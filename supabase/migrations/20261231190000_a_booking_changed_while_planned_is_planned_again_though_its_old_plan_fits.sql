-- A booking changed while it was planned is planned again, even where the plan made for it as it was still fits.
--
-- A commit compared the booking with the snapshot it was planned on only when the plan broke a rule. A plan
-- that still fit the booking as it now is was confirmed as it came: a platform that cut a party of 8 to 2
-- while the coordinator planned the 8 got the two 4-tops joined for the 8 held by a couple for the whole
-- stay, and a time moved from 19:00 to 21:00 got the tables chosen among those free at 19:00, whichever the
-- engine would have chosen at 21:00. Nothing plans a confirmed booking again unless its tables break a rule,
-- so the seats stayed lost. docs/architecture.md promised otherwise ("a commit ... planned on the booking as it
-- was is a conflict (rule_changed) and the next attempt plans it as it is"), and a failure already kept that
-- promise (20261228030000). Found by an attacker's review of a platform's writes while a booking is planned.
--
-- Now a commit whose booking's party, start, end or held window differs from the snapshot's is a conflict,
-- reason rule_changed (booking_changed), with a fresh snapshot, whether or not the plan breaks a rule. Only the
-- booking's own part of the rules digest is compared: a change to the restaurant's floor plan since the
-- snapshot is still a re-plan only where the plan breaks a rule, so a floor plan a platform writes every few
-- seconds does not send every commit in flight round again.
--
-- What it leaves: the coordinator reads its first snapshot in a call of its own after the begin, and the digest
-- is the begin's, so a booking changed in the moment between the two is planned on its new self and still
-- answered booking_changed once (one re-plan more; the fresh snapshot keeps the digest it hands back), as a
-- failure's "nothing fits" already was.
--
-- private.assignment_commit_unchecked: body as in 20261231070000, with that check after the rules' (a plan the
-- change breaks is answered as before, naming the rule it breaks).

-- The booking's own part of a rules digest (private.rules_digest): its party, start, end and held window, the
-- first five parts; the rest is the restaurant's (combination limit, floor-plan version).
create function private.request_rules(p_rules_digest text)
returns text language sql immutable set search_path = '' as $$
  select pg_catalog.array_to_string((pg_catalog.string_to_array(p_rules_digest, '/'))[1:5], '/')
$$;

-- Whether the booking's own rules differ from those kept for its lease: taken with the lease (every lease,
-- whatever the restaurant's mode, so the legacy path and shadow mode are answered alike) and again with each
-- fresh snapshot a conflict hands back. A lease with no digest kept has nothing to compare.
create function private.booking_changed_since_snapshot(b public.bookings, p_settings private.pipeline_settings)
returns boolean language sql stable set search_path = '' as $$
  select coalesce((select private.request_rules(p.digest) <> private.request_rules(private.rules_digest(b, p_settings))
                     from private.planned_rules p
                    where p.booking_id = b.id and p.lease_token = b.lease_token), false);
$$;

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
