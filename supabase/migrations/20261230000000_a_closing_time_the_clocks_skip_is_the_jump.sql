-- A closing time the clocks skip is the moment they jump.
--
-- 20261227170000 compared a stay's end with its period's closing time as instants, reading a closing time in
-- the hour the clocks skip as the moment of the jump. Postgres does that only for a time at the very start of
-- the gap (02:00 in New York); any later one it reads with the offset in force before the jump, so a closing
-- at 02:30 on the night New York's clocks go forward was read as 03:30 EDT, half an hour after the wall clock
-- passed 02:30, and a party staying until 03:30 was confirmed (or seated by an operator) at a bar that closes
-- at 02:30. A stay's end is now inside when it is by the closing instant and, if that closing time does not
-- exist on the restaurant's clock, also before it on the wall clock: by the jump, whatever time in the gap the
-- period names. A closing time that exists, or happens twice, is read as before.
-- private.service_hours_problem: body as in 20261227170000, with both end checks through private.ends_by.

create or replace function private.ends_by(p_end timestamptz, p_closing timestamp, p_tz text)
returns boolean language sql stable set search_path = '' as $$
  select p_end <= (p_closing at time zone p_tz)
     and ((p_closing at time zone p_tz) at time zone p_tz = p_closing
          -- Skipped: the wall clock passes the closing time at the jump, so the stay's last moment must read
          -- before it.
          or (p_end - interval '1 microsecond') at time zone p_tz < p_closing)
$$;
comment on function private.ends_by(timestamptz, timestamp, text) is
  'Whether a stay ending at p_end is over by the local closing time p_closing in zone p_tz; a closing time the '
  'clocks skip is the moment they jump.';

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
          and (private.ends_by(b.end_at, local_start::date + p.ends_at, tz)
               or (p.ends_at = '24:00'
                   and exists (select 1 from public.service_periods q
                                where q.restaurant_id = b.restaurant_id
                                  and q.day_of_week = (p.day_of_week + 1) % 7
                                  and q.starts_at = '00:00'
                                  and private.ends_by(b.end_at, local_start::date + 1 + q.ends_at, tz))))) then
    return null;
  end if;
  return pg_catalog.format('outside_service_hours: %s–%s local time on %s is not inside a service period',
    pg_catalog.to_char(local_start, 'HH24:MI'), pg_catalog.to_char(local_end, 'HH24:MI'),
    pg_catalog.btrim(pg_catalog.to_char(local_start, 'Day')));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
