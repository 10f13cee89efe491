-- A stay that ends at closing time on the night clocks go forward is inside the service hours.
--
-- A review of the pipeline's time rules found that private.service_hours_problem compared the stay's end read
-- on the local wall clock with the period's closing time. Where a period closes inside the hour that does not
-- exist on the night clocks go forward (a late service to 02:00 in Berlin or New York), the wall clock jumps
-- past the closing time at the very moment the restaurant closes: a party booked to leave at closing read as
-- leaving an hour late, went to review as outside_service_hours, and an operator could not seat it either
-- (plan_violation refused it, AS007). The end is now compared as an instant with the closing time's instant
-- (Postgres reads a local time that does not exist as the moment of the jump, and one that happens twice as
-- the later: on the night clocks go back, a service to 02:00 runs until the second 02:00, where the wall
-- clock refused a stay ending between the two and accepted one ending at the second); the start is still read
-- on the wall clock, against the period of its local day.
-- private.service_hours_problem: body as in 20261210000000, with the end compared as an instant.

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
          -- The end as an instant against the closing time's instant: on the night clocks go forward, a
          -- closing time in the hour that does not exist (02:00 in Berlin) is the moment the clocks jump,
          -- where the stay's end read on the wall clock is an hour past it.
          and (b.end_at <= (local_start::date + p.ends_at) at time zone tz
               or (p.ends_at = '24:00'
                   and exists (select 1 from public.service_periods q
                                where q.restaurant_id = b.restaurant_id
                                  and q.day_of_week = (p.day_of_week + 1) % 7
                                  and q.starts_at = '00:00'
                                  and b.end_at <= (local_start::date + 1 + q.ends_at) at time zone tz)))) then
    return null;
  end if;
  return pg_catalog.format('outside_service_hours: %s–%s local time on %s is not inside a service period',
    pg_catalog.to_char(local_start, 'HH24:MI'), pg_catalog.to_char(local_end, 'HH24:MI'),
    pg_catalog.btrim(pg_catalog.to_char(local_start, 'Day')));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
