-- A re-seating offer that can no longer be made is not shown.
--
-- A review's stored offers (times at which the party fits if other bookings move, found by the coordinator's
-- search) were shown until the review itself changed. One whose move could no longer be made (the booking to
-- move cancelled, planned again onto other tables, placed by staff, checked in, or within 30 minutes of its
-- start) stayed in ops.manual_review_queue until its time passed, each accept refused (AS009, whose hint sends
-- the operator back to the queue that shows it), and, the queue showing the nearest three times, it could push
-- a free time further out of view. Found by an attacker's review of the re-seating offers.
--
-- Now an offer is shown only while each booking it moves is one ops.accept_alternative would move: confirmed,
-- placed by the pipeline, not locked (private.is_locked), and still holding exactly the tables the offer moves
-- it from. The free times fill the places of those not shown. What it leaves: a review whose offers all went
-- so is not searched again for that reason (review_reseating_due still counts it searched), so its queue shows
-- its free times only until the review changes; and a stored move carries no window or party, so a booking
-- planned again onto the same tables for another time still passes here, as at accept (which re-checks rules
-- and tables for its time now).
--
-- private.seating_alternatives: as in 20261227130000, with that filter on the stored offers, and their times
-- judged past by the clock, as the free times beside them and an accept are (not by the transaction's start).

-- Whether every booking an offer moves may still be moved as the offer says: the checks private.apply_moves
-- makes of an operator's move before it re-checks rules and tables.
create function private.offer_moves_still_open(b public.bookings, p_moves jsonb)
returns boolean language sql stable set search_path = '' as $$
  select not exists (
    select 1 from pg_catalog.jsonb_array_elements(coalesce(p_moves, '[]'::jsonb)) e
     where not exists (
       select 1 from public.bookings o
        where o.id = (e.value ->> 'booking_id')::uuid and o.restaurant_id = b.restaurant_id and o.id <> b.id
          and not private.is_locked(o, coalesce((select pg_catalog.bool_or(a.source <> 'auto')
                                                   from public.booking_table_assignments a
                                                  where a.booking_id = o.id and a.released_at is null), false))
          and (select pg_catalog.array_agg(a.table_id order by a.table_id) from public.booking_table_assignments a
                where a.booking_id = o.id and a.released_at is null)
              = (select pg_catalog.array_agg(t::uuid order by t::uuid)
                   from pg_catalog.jsonb_array_elements_text(e.value -> 'from_table_ids') t)));
$$;

create or replace function private.seating_alternatives(b public.bookings, p_limit integer default 3)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  free jsonb := private.free_seating_alternatives(b, p_limit);
  stored jsonb := private.current_reseating_offers(b);
begin
  if stored is null or pg_catalog.jsonb_array_length(stored) = 0 or coalesce(p_limit, 0) < 1 then
    return free;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(a.alternative order by abs((a.alternative ->> 'offset_minutes')::integer),
                                         (a.alternative ->> 'start_at')::timestamptz), '[]'::jsonb)
      from (select x.alternative from (
              select f as alternative from pg_catalog.jsonb_array_elements(free) f
              union all
              select private.alternative_json(b, (o ->> 'start_at')::timestamptz, pg_catalog.jsonb_build_object(
                       'ids', o -> 'table_ids',
                       'numbers', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                     from public.restaurant_tables t
                                    where t.id = any(array(select i::uuid from pg_catalog.jsonb_array_elements_text(o -> 'table_ids') i)))))
                     || pg_catalog.jsonb_build_object('moves', (
                          select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'booking_id', m.move ->> 'booking_id', 'reference', m.reference,
                                   'from', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                              from public.restaurant_tables t
                                             where t.id = any(array(select i::uuid from pg_catalog.jsonb_array_elements_text(m.move -> 'from_table_ids') i))),
                                   'to', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                            from public.restaurant_tables t
                                           where t.id = any(array(select i::uuid from pg_catalog.jsonb_array_elements_text(m.move -> 'to_table_ids') i))))
                                 order by m.reference)
                            -- Each moved booking's reference looked up by its id (a subquery of its own, so
                            -- never a join the planner may answer by reading every booking).
                            from (select e.value as move,
                                         (select x.reference from public.bookings x
                                           where x.id = (e.value ->> 'booking_id')::uuid) as reference
                                    from pg_catalog.jsonb_array_elements(o -> 'moves') e) m))
                from pg_catalog.jsonb_array_elements(stored) o
               where (o ->> 'start_at')::timestamptz > pg_catalog.clock_timestamp()
                 and private.offer_moves_still_open(b, o -> 'moves')
                 and not exists (select 1 from pg_catalog.jsonb_array_elements(free) f
                                  where (f ->> 'start_at')::timestamptz = (o ->> 'start_at')::timestamptz)
            ) x
            order by abs((x.alternative ->> 'offset_minutes')::integer), (x.alternative ->> 'start_at')::timestamptz
            limit p_limit) a);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
