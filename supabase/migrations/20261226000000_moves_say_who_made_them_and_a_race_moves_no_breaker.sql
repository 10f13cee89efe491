-- Moves say who made them and why they failed, and a race neither closes nor opens a breaker.
--
-- Leftovers of earlier reviews, each small:
--   * ops.accept_alternative answered AS007 ("breaks a rule") when a stored re-seating offer's move broke a
--     rule because the room changed since the offer was found (a table taken out of service): the operator
--     was told the offer was wrong, not that it had gone. It is now AS009 (no longer possible), as a move
--     whose table was taken is.
--   * The moves an operator accepted were recorded as coordinator.booking_moved, the coordinator's; they are
--     now ops.booking_moved (source assignment.ops), and their holds name the operator from the start.
--   * A commit whose moves no longer matched the room re-planned without a trace; it now records the
--     coordinator.commit_conflict event its other lost races record, with cause moves_stale.
--   * A malformed move in assignment_commit's p_moves (not an object, an id that is not a uuid, a table named
--     twice, no tables) failed with Postgres's own error; it is now AS005 with what a move is, checked by
--     public.assignment_commit before anything reads it. Moves for a booking not on V3 are refused there too
--     (AS005): that legacy and shadow move nobody was held only by the function's code.
--   * An attempt that ended in a conflict (a lost race: a deadlock, the RPC's lock wait running out, tables
--     taken every re-plan) closed a half-open breaker when it was the probe, and reset the failures counted
--     while closed. A race says nothing about the restaurant's pipeline: now it neither counts nor resets, and
--     a probe that ends so hands the probe on, as invalid_data already did.
--   * The rollout plan's success/error query counts an event with a reason as a failure, and the breaker's
--     trip (coordinator.circuit_opened, severity error) had none, so each trip counted as a success. It
--     carries reason circuit_opened now.
-- Bodies as in 20261224020000 (apply_moves, which gains p_operator), 20261211000000 (accept_alternative),
-- 20261209020000 (public.assignment_commit), 20261207010000 (assignment_fail, since renamed
-- private.assignment_fail_unchecked) and 20261210050000 (record_event), with those changes.

-- The moves a commit proposes, checked before anything reads them: a list of {booking_id, from_table_ids,
-- to_table_ids}, each id a uuid, each table once. (Stored re-seating offers are checked when they are stored.)
create function private.check_moves(p_moves jsonb)
returns void language plpgsql immutable set search_path = '' as $$
begin
  if pg_catalog.jsonb_typeof(p_moves) = 'array' and pg_catalog.jsonb_array_length(p_moves) > 200 then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('one commit moves at most 200 bookings, not %s', pg_catalog.jsonb_array_length(p_moves));
  end if;
  if pg_catalog.jsonb_typeof(p_moves) is distinct from 'array' or exists (
       select 1 from pg_catalog.jsonb_array_elements(p_moves) e(move)
        where pg_catalog.jsonb_typeof(e.move) is distinct from 'object'
           or private.uuid_list(pg_catalog.jsonb_build_array(e.move -> 'booking_id'), 1) is null
           or private.uuid_list(e.move -> 'from_table_ids', 200) is null
           or private.uuid_list(e.move -> 'to_table_ids', 200) is null) then
    raise exception using errcode = 'AS005',
      message = 'moves are a list of {booking_id, from_table_ids, to_table_ids}: a booking''s id, and the ids of the tables it holds and is to hold, each table once';
  end if;
end $$;

-- Body as in 20261209020000, checking the moves first.
create or replace function public.assignment_commit(p_booking_id uuid, p_lease_token uuid, p_table_ids uuid[], p_strategy text,
                                                    p_duration_ms integer default null, p_metadata jsonb default '{}',
                                                    p_shadow jsonb default null, p_moves jsonb default null,
                                                    p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  if p_moves is not null and p_moves <> 'null'::jsonb then
    perform private.check_moves(p_moves);
    -- Legacy and shadow never move other guests' tables, whatever a caller proposes. (A stale lease's commit
    -- is told lease_lost, below, whatever it proposes.)
    if pg_catalog.jsonb_array_length(p_moves) > 0
       and (select x.assignment_mode from public.bookings x
             where x.id = p_booking_id and x.lease_token = p_lease_token) <> 'v3' then
      raise exception using errcode = 'AS005', message = 'moves are made only for a booking on V3: legacy and shadow move nobody';
    end if;
  end if;
  return private.assignment_commit_unchecked(p_booking_id, p_lease_token, p_table_ids, p_strategy, p_duration_ms,
                                             p_metadata, p_shadow, p_moves, p_now);
end $$;
-- Replacing a function clears its settings: the wait 20261224000000 gave it, again.
alter function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)
  set lock_timeout = '5s';
do $$
begin
  execute pg_catalog.format(
    'comment on function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz) is %L',
    pg_catalog.obj_description(
      'public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)'::regprocedure, 'pg_proc')
    || ' A malformed p_moves (more than 200, or not each {booking_id, from_table_ids, to_table_ids} of uuids, each table once), or moves for a booking not on V3, are refused (AS005).');
end $$;

drop function private.apply_moves(public.bookings, jsonb, integer);
create function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer, p_operator text default null)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
  conflict text;
begin
  if pg_catalog.jsonb_array_length(p_moves) > 200 then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('one commit moves at most 200 bookings, not %s', pg_catalog.jsonb_array_length(p_moves));
  end if;
  if (select count(*) <> count(distinct x.booking_id)
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)) then
    raise exception using errcode = 'AS007', message = 'a proposed move list names the same booking twice';
  end if;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[]) loop
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id for update;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto') into held, staff
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t) then
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

create or replace function ops.accept_alternative(p_booking_id uuid, p_start_at timestamptz, p_actor text,
                                                  p_reason text default 'alternative time accepted')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  moved public.bookings;
  options jsonb;
  choice jsonb;
  offer jsonb;
  moved_bookings integer := 0;
  conflict jsonb;
  ids uuid[];
  problem text;
  busy text[];
  requested public.bookings;
  accepted jsonb;
  max_tables integer;
  actor text;
begin
  actor := private.act_as(p_actor, p_reason);
  if p_start_at is null or p_booking_id is null then
    raise exception using errcode = 'AS005', message = 'name the booking and one of its alternatives'' start_at';
  end if;
  -- The restaurant lock before the booking's locks, the order every writer follows (see ops.assign_tables).
  perform private.lock_restaurant(x.restaurant_id) from public.bookings x where x.id = p_booking_id;
  b := private.booking_for_ops(p_booking_id);
  -- Asking again for what is already in place changes nothing (an operator's retry after a timeout).
  if b.assignment_state = 'confirmed' and b.start_at = p_start_at then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged', 'start_at', b.start_at,
      'tables', (select pg_catalog.to_jsonb(pg_catalog.array_agg(t.table_number order by t.table_number))
                   from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
                  where a.booking_id = b.id and a.released_at is null));
  end if;
  if b.assignment_state <> 'manual_review' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is %s, not in manual review: only a reviewed booking takes an alternative',
                                  p_booking_id, b.assignment_state);
  end if;
  if not exists (select 1 from private.alternative_starts(b) s where s.start_at = p_start_at) then
    raise exception using errcode = 'AS005',
      message = 'an alternative starts on the restaurant''s 15-minute grid within ±90 minutes of the booking, not at its own time and not in the past',
      hint = 'See the alternatives column of ops.manual_review_queue().';
  end if;
  max_tables := (private.settings_for(b.restaurant_id)).max_tables_per_booking;

  -- Re-checked now, under the lock: the same search as the alternatives, at this one time.
  moved := private.moved_to(b, p_start_at);
  problem := private.service_hours_problem(moved);
  if problem is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('that time breaks a rule: %s', problem);
  end if;
  options := private.seating_options(moved);
  if pg_catalog.jsonb_array_length(options) = 0 then
    raise exception using errcode = 'AS007',
      message = pg_catalog.format('that time breaks a rule: no table or combination seats a party of %s', b.party_size);
  end if;
  choice := private.first_free_option(moved, options);
  if choice is null then
    select e.value into offer from pg_catalog.jsonb_array_elements(private.current_reseating_offers(b)) e(value)
     where (e.value ->> 'start_at')::timestamptz = p_start_at;
    if offer is null then
      raise exception using errcode = 'AS009',
        message = pg_catalog.format('already taken: no free table or combination seats a party of %s at %s',
                                    b.party_size, private.alternative_json(b, p_start_at, '{}'::jsonb) ->> 'starts_local'),
        hint = 'See ops.manual_review_queue() for the alternatives left.';
    end if;
    -- Re-seat the others first, as this operator's moves; any refusal rolls all of it back. The offer was
    -- checked against the rules when it was found, so a move that breaks one now (a table taken out of
    -- service since, a joint removed) is an offer no longer possible, as a move whose table was taken is.
    begin
      conflict := private.apply_moves(moved, offer -> 'moves', max_tables, actor);
    exception when sqlstate 'AS007' then
      conflict := pg_catalog.jsonb_build_object('reason', sqlerrm);
    -- A seated party's longer stay holds tables without the restaurant lock, so it can take one a move is
    -- about to: as taken meanwhile.
    when exclusion_violation then
      conflict := '{"reason": "a table a booking would move to was taken meanwhile"}'::jsonb;
    end;
    if conflict is not null then
      raise exception using errcode = 'AS009',
        message = pg_catalog.format('the re-seating this alternative needs is no longer possible: %s', conflict ->> 'reason'),
        hint = 'See ops.manual_review_queue() for the alternatives left.';
    end if;
    moved_bookings := pg_catalog.jsonb_array_length(offer -> 'moves');
    choice := pg_catalog.jsonb_build_object('ids', offer -> 'table_ids',
      'numbers', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number) from public.restaurant_tables t
                   where t.id in (select i::uuid from pg_catalog.jsonb_array_elements_text(offer -> 'table_ids') i)));
  end if;
  select pg_catalog.array_agg(x::uuid) into ids from pg_catalog.jsonb_array_elements_text(choice -> 'ids') x;

  -- Move the booking (in review it is not confirmed, so nothing re-assigns it; the turn policy re-applies its
  -- buffers), then check the moved row itself against every rule before seating it.
  requested := b;
  update public.bookings set start_at = moved.start_at, end_at = moved.end_at where id = b.id;
  select * into b from public.bookings where id = b.id;
  problem := private.plan_violation(b, ids, max_tables);
  if problem is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('those tables break a rule: %s', problem);
  end if;
  busy := private.busy_tables(b, ids);
  if busy is not null then
    raise exception using errcode = 'AS009',
      message = pg_catalog.format('already taken for that time: %s', pg_catalog.array_to_string(busy, ', '));
  end if;

  -- Confirming queues the guest's message (booking_confirmed, or booking_changed if they had heard of the old time).
  b.assignment_state_version := private.seat_and_confirm(b, ids, 'ops', p_actor, 'manual', p_reason,
    pg_catalog.jsonb_build_object('tables', choice -> 'numbers', 'start_changed', true), '{}'::jsonb, p_actor);
  accepted := private.alternative_json(requested, b.start_at, choice);
  perform private.record_event('assignment.ops', 'ops.alternative_accepted', 'info',
    pg_catalog.jsonb_build_object('from_start_at', requested.start_at, 'start_at', b.start_at,
      'offset_minutes', accepted -> 'offset_minutes', 'tables', accepted -> 'tables')
    || case when moved_bookings > 0 then pg_catalog.jsonb_build_object('moved_bookings', moved_bookings)
            else '{}'::jsonb end,
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'moved_bookings', moved_bookings) || accepted;
end $$;
comment on function ops.accept_alternative(uuid, timestamptz, text, text) is
  'Take one of a reviewed booking''s alternatives (ops.manual_review_queue().alternatives): moves the booking to p_start_at, keeping its length, re-checks under the restaurant lock that the party can be seated then by the same rules — with free tables, or else by the re-seating that alternative lists, each move re-checked, made first and recorded as ops.booking_moved — assigns the tables, confirms it (the guest is told the new time) and records ops.alternative_accepted (with moved_bookings when it re-seated others). Refuses and writes nothing when it cannot: AS009 (taken meanwhile, or a move no longer possible, also one that breaks a rule now), AS007 (breaks a rule), AS005 (not an alternative start), AS001 (not in manual review). Asking again once done returns outcome unchanged.';

create or replace function private.assignment_fail_unchecked(
  p_booking_id uuid,
  p_lease_token uuid,
  p_kind text,
  p_reason text,
  p_duration_ms integer default null,
  p_details jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  restaurant uuid;
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
  -- The reason the attempt ends with: prefixed with its kind unless it names its own code.
  ending text := case when pg_catalog.strpos(reason, ':') = 0 then p_kind || ': ' || reason else reason end;
  offer jsonb;
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
  select * into b from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  restaurant := b.restaurant_id;
  -- Before the lock (see the header): only for the attempt that holds the lease and is about to be escalated.
  if b.lease_token = p_lease_token and private.escalates_as_given(b, p_kind) then
    offer := private.escalation_offer(p_booking_id, ending);
  end if;
  -- The attempt leaves its slot: serialised with the begins that count the slots (20261206000000).
  perform private.lock_restaurant(restaurant);
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  perform private.record_shadow(b, p_shadow);
  -- A conflict says nothing either way about the restaurant's pipeline: neither counted nor a reset, and a
  -- probe that ends so hands the probe on, as one that met this booking's own bad data does.
  if p_kind = 'conflict' then
    perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
  elsif p_kind in ('error', 'invalid_data') then
    if p_kind = 'error' then
      perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    else
      perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
    end if;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.error', 'error',
      pg_catalog.jsonb_build_object('message', pg_catalog.left(reason, 500), 'attempts', b.attempt_count,
                                    'kind', p_kind, 'counts_toward_breaker', p_kind = 'error'),
      b.restaurant_id, b.id);
  else
    perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  end if;
  -- invalid_data is retried and escalated exactly like an error; only the breaker tells them apart.
  return private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, ending,
                             p_duration_ms, p_details, p_now, offer);
end $$;

create or replace function private.record_event(p_source text, p_event_type text, p_severity text, p_context jsonb,
                                                p_restaurant_id uuid, p_booking_id uuid, p_at timestamptz default null)
returns void language plpgsql set search_path = '' as $$
declare
  context jsonb := coalesce(p_context, '{}'::jsonb);
begin
  if p_event_type in ('coordinator.error', 'coordinator.commit_conflict', 'coordinator.lock_contention',
                      'coordinator.circuit_open', 'coordinator.circuit_opened') and not context ? 'reason' then
    context := context || pg_catalog.jsonb_build_object('reason',
      coalesce(context ->> 'kind', context ->> 'cause', pg_catalog.split_part(p_event_type, '.', 2)));
  end if;
  insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
    values (p_source, p_event_type, p_severity, context, p_restaurant_id, p_booking_id, coalesce(p_at, pg_catalog.now()));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
