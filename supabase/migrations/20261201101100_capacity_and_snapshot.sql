
-- What the pipeline checks in Postgres, whatever the engine says: whether a booking can be seated at
-- all (capacity verification), the snapshot the engine plans on, and whether a proposed set of tables
-- obeys every rule. Reasons are "<code>: <sentence>" so ops can group by code and read the sentence.

-- Tables that may be assigned at all.
create function private.usable_tables(p_restaurant_id uuid)
returns setof public.restaurant_tables language sql stable set search_path = '' as $$
  select * from public.restaurant_tables t
   where t.restaurant_id = p_restaurant_id and t.active and not t.out_of_service;
$$;

-- Why this booking's stay is outside the restaurant's service hours, or null when it is inside one
-- service period (or the restaurant has none, and seats at any time).
create function private.service_hours_problem(b public.bookings)
returns text language plpgsql stable set search_path = '' as $$
declare
  tz text;
  local_start timestamp;
  local_end timestamp;
begin
  if not exists (select 1 from public.service_periods p where p.restaurant_id = b.restaurant_id) then
    return null;
  end if;
  select r.timezone into tz from public.restaurants r where r.id = b.restaurant_id;
  local_start := b.start_at at time zone tz;
  local_end := b.end_at at time zone tz;
  if exists (
       select 1 from public.service_periods p
        where p.restaurant_id = b.restaurant_id
          and p.day_of_week = extract(dow from local_start)
          and local_start::time >= p.starts_at
          and local_end <= local_start::date + p.ends_at) then
    return null;
  end if;
  return pg_catalog.format('outside_service_hours: %s–%s local time on %s is not inside a service period',
    pg_catalog.to_char(local_start, 'HH24:MI'), pg_catalog.to_char(local_end, 'HH24:MI'),
    pg_catalog.btrim(pg_catalog.to_char(local_start, 'Day')));
end $$;

-- Every combination of tables the rules allow: a connected group (through adjacency) of 2 to p_max_tables
-- usable, movable tables in one zone, seating the sum of their capacities — the arrangements the engine
-- and plan_violation accept. The one place the pipeline's SQL searches for groups. Groups are grown from
-- their smallest table id, adding one adjacent table at a time, so each group is built once per size; the
-- search is lazy, so a caller that stops at the first group it likes stops the search there.
create function private.table_groups(p_restaurant_id uuid, p_max_tables integer)
returns table (table_ids uuid[], seats integer) language sql stable set search_path = '' as $$
  with recursive
    joinable as (
      select t.id, t.zone_id, t.capacity from private.usable_tables(p_restaurant_id) t where t.movable),
    link as (
      select x.id as from_id, y.id as to_id, y.capacity as to_capacity
        from public.table_adjacency a
        join joinable x on x.id in (a.table_a, a.table_b)
        join joinable y on y.id in (a.table_a, a.table_b) and y.id <> x.id
       where a.restaurant_id = p_restaurant_id and x.zone_id = y.zone_id),
    grp(members, seats) as (
      select array[j.id], j.capacity from joinable j
      union
      select (select pg_catalog.array_agg(m order by m) from pg_catalog.unnest(g.members || l.to_id) m),
             g.seats + l.to_capacity
        from grp g join link l on l.from_id = any(g.members)
       where pg_catalog.cardinality(g.members) < p_max_tables
         and l.to_id > g.members[1] and not l.to_id = any(g.members))
  select g.members, g.seats from grp g where pg_catalog.cardinality(g.members) >= 2;
$$;

-- The most seats one combination offers, or null when no two tables can be combined. With p_enough, stops
-- at the first group seating that many (the common "is there any arrangement for this party" question).
create function private.largest_combination(p_restaurant_id uuid, p_max_tables integer, p_enough integer default null)
returns integer language sql stable set search_path = '' as $$
  select coalesce(
    (select g.seats from private.table_groups(p_restaurant_id, p_max_tables) g
      where p_enough is not null and g.seats >= p_enough limit 1),
    (select max(g.seats) from private.table_groups(p_restaurant_id, p_max_tables) g));
$$;

-- Why this booking cannot be seated whatever else is booked, or null when it can.
create function private.capacity_problem(b public.bookings, p_max_tables integer)
returns text language plpgsql stable set search_path = '' as $$
declare
  problem text;
  largest_single integer;
  largest_combination integer;
begin
  if not exists (select 1 from private.usable_tables(b.restaurant_id)) then
    return 'no_tables_configured: the restaurant has no active, in-service tables';
  end if;
  problem := private.service_hours_problem(b);
  if problem is not null then
    return problem;
  end if;

  select max(t.max_party_size) into largest_single from private.usable_tables(b.restaurant_id) t;
  if b.party_size <= largest_single then
    return null;
  end if;
  if p_max_tables >= 2 then
    largest_combination := private.largest_combination(b.restaurant_id, p_max_tables, b.party_size);
  end if;
  if b.party_size > greatest(largest_single, coalesce(largest_combination, 0)) then
    return pg_catalog.format('party_too_large: a party of %s exceeds the largest possible arrangement (%s seats)',
      b.party_size, greatest(largest_single, coalesce(largest_combination, 0)));
  end if;
  return null;
end $$;

-- A booking that must keep its tables: placed by staff, already seated or done, or starting within 30
-- minutes (the party may be walking in).
create function private.is_locked(o public.bookings, p_set_by_staff boolean)
returns boolean language sql stable set search_path = '' as $$
  select p_set_by_staff or o.status in ('checked_in', 'completed') or o.assignment_state <> 'confirmed'
         or o.start_at <= pg_catalog.now() + interval '30 minutes';
$$;

-- How far around a booking's window the snapshot shows other bookings: the one owner of that number. The
-- snapshot carries it (`horizon_minutes`), so the engine never assumes its own.
create function private.snapshot_horizon()
returns interval language sql immutable set search_path = '' as $$
  select interval '6 hours';
$$;

-- Everything the engine needs to plan one booking, read in one go.
create function private.assignment_snapshot(b public.bookings, p_settings private.pipeline_settings)
returns jsonb language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_build_object(
    'booking', pg_catalog.jsonb_build_object(
      'id', b.id, 'restaurant_id', b.restaurant_id, 'party_size', b.party_size,
      'start_at', b.start_at, 'end_at', b.end_at,
      'timezone', (select r.timezone from public.restaurants r where r.id = b.restaurant_id),
      'window_start', pg_catalog.lower(private.blocked_window(b)), 'window_end', pg_catalog.upper(private.blocked_window(b))),
    'max_tables', p_settings.max_tables_per_booking,
    'horizon_minutes', extract(epoch from private.snapshot_horizon())::integer / 60,
    -- The shortest stay the turn-time policy gives any party (dining plus buffers): the engine treats a gap
    -- between two bookings that is too short for such a stay as dead time.
    'min_stay_minutes', (
      select coalesce(min(p.dining_minutes + p.buffer_before_minutes + p.buffer_after_minutes), r.default_turn_minutes)
        from public.restaurants r left join public.turn_time_policies p on p.restaurant_id = r.id
       where r.id = b.restaurant_id group by r.default_turn_minutes),
    'tables', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'id', t.id, 'number', t.table_number, 'zone_id', t.zone_id, 'capacity', t.capacity,
               'min_party_size', t.min_party_size, 'max_party_size', t.max_party_size, 'movable', t.movable)
             order by t.table_number)
        from private.usable_tables(b.restaurant_id) t), '[]'::jsonb),
    'adjacency', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.table_a, a.table_b) order by a.table_a, a.table_b)
        from public.table_adjacency a where a.restaurant_id = b.restaurant_id), '[]'::jsonb),
    -- Other bookings' tables within the horizon before and after, so strategies can see the evening around it.
    'busy', coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'table_id', a.table_id, 'start', pg_catalog.lower(a.during), 'end', pg_catalog.upper(a.during))
             order by pg_catalog.lower(a.during), a.table_id)
        from public.booking_table_assignments a
       where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id
         and a.during && pg_catalog.tstzrange(pg_catalog.lower(private.blocked_window(b)) - private.snapshot_horizon(),
                                              pg_catalog.upper(private.blocked_window(b)) + private.snapshot_horizon())),
      '[]'::jsonb),
    -- With re-optimisation on: the bookings holding those tables, and whether each may still be moved.
    'reoptimize', p_settings.reoptimize,
    'placed', case when p_settings.reoptimize then coalesce((
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'id', o.id, 'party_size', o.party_size, 'window_start', x.window_start, 'window_end', x.window_end,
               'table_ids', pg_catalog.to_jsonb(x.table_ids), 'locked', private.is_locked(o, x.set_by_staff))
             order by x.window_start, o.id)
        from (select a.booking_id, pg_catalog.array_agg(a.table_id order by a.table_id) as table_ids,
                     bool_or(a.source <> 'auto') as set_by_staff,
                     min(pg_catalog.lower(a.during)) as window_start, max(pg_catalog.upper(a.during)) as window_end
                from public.booking_table_assignments a
               where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id
                 and a.during && pg_catalog.tstzrange(pg_catalog.lower(private.blocked_window(b)) - private.snapshot_horizon(),
                                                      pg_catalog.upper(private.blocked_window(b)) + private.snapshot_horizon())
               group by a.booking_id) x
        join public.bookings o on o.id = x.booking_id), '[]'::jsonb) else '[]'::jsonb end);
$$;


-- Why this set of tables breaks a rule for this booking, or null when it obeys them all.
-- (Availability is checked separately: being busy is a race to re-plan, not a broken rule.)
create function private.plan_violation(b public.bookings, p_table_ids uuid[], p_max_tables integer)
returns text language plpgsql stable set search_path = '' as $$
declare
  n integer := coalesce(pg_catalog.cardinality(p_table_ids), 0);
  found_count integer;
  bad text;
  zones integer;
  seats integer;
  reachable integer;
begin
  if n = 0 then
    return 'empty_plan: no tables were proposed';
  end if;
  -- The booking may have moved (a new time) since capacity was verified.
  bad := private.service_hours_problem(b);
  if bad is not null then
    return bad;
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

-- Tables of the set already held by another booking over this booking's window (a lost race, not an error).
create function private.busy_tables(b public.bookings, p_table_ids uuid[])
returns text[] language sql stable set search_path = '' as $$
  select pg_catalog.array_agg(distinct t.table_number order by t.table_number)
    from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
   where a.table_id = any(p_table_ids) and a.released_at is null and a.booking_id <> b.id
     and a.during && private.blocked_window(b);
$$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
