-- A plan whose list of tables is shaped oddly is checked like any other.
--
-- Postgres arrays carry their own bounds and dimensions: '[0:0]={<table>}' and '{{<table>}}' are lists of one
-- table whose first element is not at position 1. The seating rules (private.table_rule_violation) counted and
-- searched the list whole, except two reads by position: a single table's party range, and the table the
-- adjacency walk starts from. Given such a list, the single table's check read nothing and found nothing
-- wrong: a commit through the Data API (any holder of service_role, or a coordinator with a bug) could seat a
-- party of twelve at a two-seat table, confirmed, with the guest told. Combined tables were refused (the walk
-- reached one table of several), and every other check held.
--
-- The rules now read the list as the list from 1 that its elements make, so they hold whatever the array's
-- shape, for every caller of them (the commit, the moves it makes, an operator's assignment, an accepted
-- alternative). And the commit refuses such a list at the door with a clear error (AS005), before writing
-- anything: the coordinator never sends one, so a caller that does has a bug to see.
--
-- private.table_rule_violation: as in 20261210000000, the list read from 1; public.assignment_commit: as in
-- 20261226000000, refusing a list that is not one-dimensional from 1.

create or replace function private.table_rule_violation(b public.bookings, p_table_ids uuid[], p_max_tables integer)
returns text language plpgsql stable set search_path = '' set plan_cache_mode = force_generic_plan as $$
declare
  n integer := coalesce(pg_catalog.cardinality(p_table_ids), 0);
  found_count integer;
  bad text;
  zones integer;
  seats integer;
  reachable integer;
begin
  -- The checks below read the list by position: as the list from 1 that its elements make, whatever bounds or
  -- dimensions the caller's array has.
  p_table_ids := array(select x from pg_catalog.unnest(p_table_ids) x);
  if n = 0 then
    return 'empty_plan: no tables were proposed';
  end if;
  if (select count(distinct x) from pg_catalog.unnest(p_table_ids) x) <> n then
    return 'duplicate_tables: the same table appears twice';
  end if;
  if n > p_max_tables then
    return pg_catalog.format('too_many_tables: %s tables proposed, at most %s may be combined', n, p_max_tables);
  end if;
  select count(*) into found_count from public.restaurant_tables t
   where t.id = any(p_table_ids) and t.restaurant_id = b.restaurant_id;
  if found_count <> n then
    return 'unknown_table: a proposed table does not belong to this restaurant';
  end if;
  select pg_catalog.string_agg(t.table_number, ', ' order by t.table_number) into bad
    from public.restaurant_tables t where t.id = any(p_table_ids) and (not t.active or t.out_of_service);
  if bad is not null then
    return pg_catalog.format('table_unavailable: %s is inactive or out of service', bad);
  end if;

  if n = 1 then
    select pg_catalog.format('party_size_out_of_range: table %s seats %s–%s, the party is %s',
                             t.table_number, t.min_party_size, t.max_party_size, b.party_size)
      into bad from public.restaurant_tables t
     where t.id = p_table_ids[1] and b.party_size not between t.min_party_size and t.max_party_size;
    return bad;
  end if;

  select pg_catalog.string_agg(t.table_number, ', ' order by t.table_number) into bad
    from public.restaurant_tables t where t.id = any(p_table_ids) and not t.movable;
  if bad is not null then
    return pg_catalog.format('table_not_movable: %s cannot be joined with other tables', bad);
  end if;
  select count(distinct t.zone_id), sum(t.capacity) into zones, seats
    from public.restaurant_tables t where t.id = any(p_table_ids);
  if zones > 1 then
    return 'zones_differ: combined tables must stand in one zone';
  end if;
  if seats < b.party_size then
    return pg_catalog.format('not_enough_seats: the tables seat %s, the party is %s', seats, b.party_size);
  end if;
  with recursive reach(id) as (
    select p_table_ids[1]
    union
    select case when a.table_a = r.id then a.table_b else a.table_a end
      from reach r join public.table_adjacency a on a.table_a = r.id or a.table_b = r.id
     where (case when a.table_a = r.id then a.table_b else a.table_a end) = any(p_table_ids))
  select count(*) into reachable from reach;
  if reachable <> n then
    return 'not_adjacent: combined tables must form one connected group';
  end if;
  return null;
end $$;


create or replace function public.assignment_commit(p_booking_id uuid, p_lease_token uuid, p_table_ids uuid[], p_strategy text,
                                                    p_duration_ms integer default null, p_metadata jsonb default '{}',
                                                    p_shadow jsonb default null, p_moves jsonb default null,
                                                    p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  if pg_catalog.array_ndims(p_table_ids) > 1 or pg_catalog.array_lower(p_table_ids, 1) <> 1 then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('table_ids is a list of table ids from position 1, not %s', p_table_ids);
  end if;
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
    || ' p_table_ids must be a one-dimensional list from position 1 (AS005).');
end $$;
