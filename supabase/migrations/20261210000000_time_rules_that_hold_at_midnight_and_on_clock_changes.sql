-- Service hours and clocks, as restaurants really keep them. A review of every place the pipeline reads time
-- found:
--   * a stay could not cross midnight. A late service is stored as two rows (…–24:00 and 00:00–…), as the
--     table's comment says, but a 23:00 booking of two hours had to end by 24:00, so it went to manual review
--     as outside_service_hours and an operator could not seat it either (plan_violation refused). A stay
--     that ends in the next day's period starting at 00:00, where the day's period runs to 24:00, is inside;
--   * re-optimisation checked a booking it moves against service hours. A move changes its tables, not its
--     time; but a booking confirmed before the hours were shortened (or the zone corrected) failed that check,
--     so every commit whose plan moved it raised AS007 — an engine error, counted toward the restaurant's
--     circuit breaker — and the engine, which does not see service periods, proposed the same move each time.
--     A moved booking is now checked against the table rules only;
--   * alternatives were built by adding 15-minute steps to a local wall time. On the day clocks go forward
--     two of them named the same instant; on the day they go back one was the booking's own time an hour
--     later. They are now whole 15-minute steps of real time from the booking's local grid point: every UTC
--     offset in use is a multiple of 15 minutes, so the steps stay on the local grid across a clock change;
--   * a zone Postgres lists but JavaScript refuses ('posix/Europe/London', 'localtime', 'posixrules') passed
--     the restaurant's check and then made the engine throw whenever it explained a no-fit. Only names both
--     understand are accepted now; stored 'posix/…' names become the same zone without the prefix, and the
--     two machine-dependent names become UTC (recorded in the floor-plan change log like any edit).

-- Why this booking's stay is outside the restaurant's service hours, or null when it is inside a service
-- period of its local start day — or runs on, past midnight, into the next day's period that starts at 00:00
-- when that one runs to 24:00 — or the restaurant has no periods (it seats at any time).
create or replace function private.service_hours_problem(b public.bookings)
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
          and (local_end <= local_start::date + p.ends_at
               or (p.ends_at = '24:00'
                   and exists (select 1 from public.service_periods q
                                where q.restaurant_id = b.restaurant_id
                                  and q.day_of_week = (p.day_of_week + 1) % 7
                                  and q.starts_at = '00:00'
                                  and local_end <= local_start::date + 1 + q.ends_at)))) then
    return null;
  end if;
  return pg_catalog.format('outside_service_hours: %s–%s local time on %s is not inside a service period',
    pg_catalog.to_char(local_start, 'HH24:MI'), pg_catalog.to_char(local_end, 'HH24:MI'),
    pg_catalog.btrim(pg_catalog.to_char(local_start, 'Day')));
end $$;

-- Whether these tables may seat this booking at its time: the table rules of plan_violation without the
-- service hours. For a booking re-optimisation moves, whose time does not change. Body as plan_violation's
-- in 20261201101100 from the duplicate check on.
create function private.table_rule_violation(b public.bookings, p_table_ids uuid[], p_max_tables integer)
returns text language plpgsql stable set search_path = '' set plan_cache_mode = force_generic_plan as $$
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

-- Every rule a booking's tables must obey at its time: service hours, then the table rules.
create or replace function private.plan_violation(b public.bookings, p_table_ids uuid[], p_max_tables integer)
returns text language plpgsql stable set search_path = '' set plan_cache_mode = force_generic_plan as $$
begin
  if coalesce(pg_catalog.cardinality(p_table_ids), 0) = 0 then
    return 'empty_plan: no tables were proposed';
  end if;
  -- The booking may have moved (a new time) since capacity was verified.
  return coalesce(private.service_hours_problem(b), private.table_rule_violation(b, p_table_ids, p_max_tables));
end $$;

-- Tables of the set held over this booking's window by a booking other than it and those given.
create function private.busy_tables(b public.bookings, p_table_ids uuid[], p_besides uuid[])
returns text[] language sql stable set search_path = '' set plan_cache_mode = force_generic_plan as $$
  select pg_catalog.array_agg(distinct t.table_number order by t.table_number)
    from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
   where a.table_id = any(p_table_ids) and a.released_at is null and a.booking_id <> b.id
     and a.booking_id <> all(p_besides) and a.during && private.blocked_window(b);
$$;

-- Body as in 20261202300000, with a moved booking checked against the table rules only, and its new tables
-- checked free (a liveness review found a destination taken since the snapshot failed the insert, and the
-- commit answered a bare conflict with no snapshot to re-plan on).
create or replace function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
begin
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
      return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', 'a booking to move changed since the snapshot');
    end if;
    violation := private.table_rule_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
    -- Taken since the snapshot by a booking the plan does not move: a re-plan, not a failed insert.
    if private.busy_tables(o, m.to_table_ids,
         array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))) is not null then
      return pg_catalog.jsonb_build_object('outcome', 'conflict',
                                           'reason', 'a table a booking would move to was taken since the snapshot');
    end if;
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid) loop
    perform private.release_booking_tables(m.booking_id, 'moved');
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[]) loop
    insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
    select o2.id, o2.restaurant_id, t, private.blocked_window(o2), 'auto', 'coordinator:reoptimize'
      from public.bookings o2, pg_catalog.unnest(m.to_table_ids) t where o2.id = m.booking_id;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.booking_moved', 'info',
      pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
      b.restaurant_id, m.booking_id);
  end loop;
  return null;
end $$;

-- Start times to offer instead, nearest first: the booking's local 15-minute grid point, then whole
-- 15-minute steps of real time from it, within ±90 minutes, never the booking's own time nor in the past.
create or replace function private.alternative_starts(b public.bookings)
returns table (start_at timestamptz, offset_minutes integer) language plpgsql stable set search_path = '' as $$
#variable_conflict use_column
declare
  local_start timestamp;
  grid_point timestamptz;
begin
  select b.start_at at time zone r.timezone into local_start from public.restaurants r where r.id = b.restaurant_id;
  grid_point := b.start_at - pg_catalog.make_interval(mins => extract(minute from local_start)::integer % 15,
                                                      secs => extract(second from local_start));
  return query
  select c.start_at, (extract(epoch from c.start_at - b.start_at) / 60)::integer
    from (select grid_point + pg_catalog.make_interval(mins => 15 * k) as start_at
            from pg_catalog.generate_series(-6, 6) k) c
   where c.start_at <> b.start_at
     and abs(extract(epoch from c.start_at - b.start_at)) <= 90 * 60
     and c.start_at > pg_catalog.now()
   order by abs(extract(epoch from c.start_at - b.start_at)), c.start_at;
end $$;

-- Zones both Postgres and the engine's JavaScript understand: Postgres also lists the 'posix/' copies of the
-- zone files and the machine's own 'localtime' and 'posixrules', which JavaScript refuses.
update public.restaurants set timezone = pg_catalog.substr(timezone, 7) where timezone like 'posix/%';
update public.restaurants set timezone = 'UTC' where timezone in ('localtime', 'posixrules');

create or replace function private.is_known_time_zone(tz text)
returns boolean language sql immutable set search_path = '' as $$
  select tz not like 'posix/%' and tz not in ('localtime', 'posixrules')
     and exists (select 1 from pg_catalog.pg_timezone_names where name = tz);
$$;

comment on table public.service_periods is
  'When a restaurant seats guests, in its local time. A booking must start within a period of its local day and end within it — or, past midnight, within the next day''s period that starts at 00:00 when the day''s runs to 24:00. A service past midnight is two rows (…–24:00 and 00:00–…).';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
