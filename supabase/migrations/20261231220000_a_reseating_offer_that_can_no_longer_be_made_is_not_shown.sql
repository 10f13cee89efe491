-- A re-seating offer that can no longer be made is not shown.
--
-- A review's stored offers (times at which the party fits if other bookings move, found by the coordinator's
-- search) were shown until the review itself changed. One whose move could no longer be made (the booking to
-- move cancelled, planned again onto other tables, placed by staff, checked in, or within 30 minutes of its
-- start) stayed in ops.manual_review_queue until its time passed, each accept refused (AS009, whose hint sends
-- the operator back to the queue that shows it), and, the queue showing the nearest three times, it could push
-- a free time further out of view. Found by an attacker's review of the re-seating offers.
--
-- Now an offer is shown only while ops.accept_alternative could still make it as far as tables go: each
-- booking it moves confirmed, placed by the pipeline, not locked (private.is_locked), still holding exactly the
-- tables the offer moves it from, and the tables it moves to free for its stay but for the other bookings the
-- offer moves; and the tables the offer seats the party on free at its time but for those. The free times fill
-- the places of those not shown. What it leaves: the rules are not checked again here (a table taken out of
-- service or a joint removed since the search: the floor-plan re-check plans such reviews again only when the
-- change may seat more), nor two of its moves onto one table, which the search never proposes; a review whose
-- offers all went so is not searched again for that reason (review_reseating_due still counts it searched), so
-- its queue shows its free times only until the review changes; and a stored move carries no window or party,
-- so a booking planned again onto the same tables for another time still passes here, as at accept (which
-- re-checks rules and tables for its time now).
--
-- private.seating_alternatives: as in 20261227130000, with that filter on the stored offers, and their times
-- judged past by the clock, as the free times beside them and an accept are (not by the transaction's start).

-- Whether ops.accept_alternative could still make the offer, as far as tables go: the checks private.apply_moves
-- makes of each booking an operator's offer moves and of the tables it moves it to, and the offer's own tables
-- free at its time but for the bookings it moves (the rules are re-checked at accept only).
create function private.offer_still_open(b public.bookings, p_offer jsonb)
returns boolean language sql stable set search_path = '' as $$
  with move as (
    select (e.value ->> 'booking_id')::uuid as booking_id,
           array(select t::uuid from pg_catalog.jsonb_array_elements_text(e.value -> 'from_table_ids') t) as from_ids,
           array(select t::uuid from pg_catalog.jsonb_array_elements_text(e.value -> 'to_table_ids') t) as to_ids
      from pg_catalog.jsonb_array_elements(coalesce(p_offer -> 'moves', '[]'::jsonb)) e),
  moving as (select coalesce(pg_catalog.array_agg(m.booking_id), '{}') as ids from move m)
  select not exists (
           select 1 from move m
            where not exists (
              select 1 from public.bookings o, moving
               where o.id = m.booking_id and o.restaurant_id = b.restaurant_id and o.id <> b.id
                 and not private.is_locked(o, coalesce((select pg_catalog.bool_or(a.source <> 'auto')
                                                          from public.booking_table_assignments a
                                                         where a.booking_id = o.id and a.released_at is null), false))
                 and (select pg_catalog.array_agg(a.table_id order by a.table_id) from public.booking_table_assignments a
                       where a.booking_id = o.id and a.released_at is null)
                     = (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_ids) t)
                 and private.busy_tables(o, m.to_ids, moving.ids) is null))
     and (select private.busy_tables(private.moved_to(b, (p_offer ->> 'start_at')::timestamptz),
                                     array(select t::uuid from pg_catalog.jsonb_array_elements_text(p_offer -> 'table_ids') t),
                                     moving.ids) is null
            from moving);
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
                 and private.offer_still_open(b, o)
                 and not exists (select 1 from pg_catalog.jsonb_array_elements(free) f
                                  where (f ->> 'start_at')::timestamptz = (o ->> 'start_at')::timestamptz)
            ) x
            order by abs((x.alternative ->> 'offset_minutes')::integer), (x.alternative ->> 'start_at')::timestamptz
            limit p_limit) a);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
