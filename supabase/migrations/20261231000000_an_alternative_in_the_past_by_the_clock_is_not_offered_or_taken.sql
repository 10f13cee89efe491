-- An alternative whose time has passed by the clock is neither offered nor taken.
--
-- A review of the alternatives found that private.alternative_starts left out the times before now(), the start
-- of the asking transaction. ops.accept_alternative takes the restaurant's lock and then the booking's, without
-- a time limit, before it asks; an accept that waited behind another operator's open transaction from 18:58 to
-- 19:10 therefore still took the 19:00 alternative, moved the booking to a time already past, confirmed it and
-- queued a message telling the guest to come at 19:00. The lock window's check was moved to the clock for the
-- other bookings a move touches (20261230050000); the reviewed booking's own new time was left on now(). The
-- times are now cut at an instant the caller may name, p_now, which is the clock when not named: for the
-- accept (through private.accept_alternative_at), the queue's listing, the re-seating probes and the offers the
-- coordinator stores. Body as in 20261225010000 otherwise; the function now reads the clock, so it is volatile.

drop function private.alternative_starts(public.bookings);

-- Start times to offer instead, nearest first: the booking's local 15-minute grid point, then whole
-- 15-minute steps of real time from it, within ±90 minutes, after p_now; each local time once (the nearer of
-- the two an autumn night has, the earlier on a tie), never the booking's own.
create function private.alternative_starts(b public.bookings, p_now timestamptz default pg_catalog.clock_timestamp())
returns table (start_at timestamptz, offset_minutes integer) language plpgsql volatile set search_path = '' as $$
#variable_conflict use_column
declare
  zone text;
  local_start timestamp;
  grid_point timestamptz;
begin
  select r.timezone, b.start_at at time zone r.timezone into zone, local_start
    from public.restaurants r where r.id = b.restaurant_id;
  grid_point := b.start_at - pg_catalog.make_interval(mins => extract(minute from local_start)::integer % 15,
                                                      secs => extract(second from local_start));
  return query
  select c.start_at, c.offset_minutes
    from (select c.start_at, (extract(epoch from c.start_at - b.start_at) / 60)::integer as offset_minutes,
                 pg_catalog.row_number() over (partition by c.start_at at time zone zone
                                               order by abs(extract(epoch from c.start_at - b.start_at)), c.start_at) as nth
            from (select grid_point + pg_catalog.make_interval(mins => 15 * k) as start_at
                    from pg_catalog.generate_series(-6, 6) k) c
           where c.start_at <> b.start_at
             and abs(extract(epoch from c.start_at - b.start_at)) <= 90 * 60
             and c.start_at > coalesce(p_now, pg_catalog.clock_timestamp())
             and pg_catalog.date_trunc('minute', c.start_at at time zone zone)
                 <> pg_catalog.date_trunc('minute', local_start)) c
   where c.nth = 1
   order by abs(c.offset_minutes), c.start_at;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
