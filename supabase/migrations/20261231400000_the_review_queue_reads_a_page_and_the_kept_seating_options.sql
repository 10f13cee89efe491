-- The review queue reads a page at a time, and finds the free tables among the floor plan's kept seating
-- options.
--
-- After a reservation drop of 2,500 bookings in a 400-table room whose tables join, 1,882 of them in review
-- (no_table_fits), ops.manual_review_queue for that restaurant had not answered after 2 minutes: it listed
-- every review, and for each one searched every group of joined tables again (private.table_groups, about 80
-- ms there), tested each group for needing all its tables, and looked each one up in the holds, to list the
-- free tables that would seat the party. An operator facing such a drop could not read the queue at all.
--
-- Now it answers a page: p_limit reviews (100 by default, at most 1,000) from p_offset (0), soonest first and
-- then by booking id, so pages do not overlap. The free tables come from the seating options worked out once
-- per floor plan and party size (private.seating_options, 20261215000000: the same single tables, and groups in
-- which every table is needed, in the same order of least waste), asked once per restaurant and party size of
-- the page, against the tables held around the booking's stay, read once per review through the holds' index
-- by restaurant and time. Ten at most, least waste first, as before; where more than a hundred combinations
-- were free, the ten are now the least wasteful of all of them, not of the first hundred found.
--
-- ops.manual_review_queue: as in 20261227130000, with the page and the free tables read so.

drop function ops.manual_review_queue(uuid, boolean);
create function ops.manual_review_queue(p_restaurant_id uuid default null, p_include_ended boolean default false,
                                        p_limit integer default 100, p_offset integer default 0)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text, guest_was_told text)
language plpgsql stable security definer set search_path = '' as $$
#variable_conflict use_column
declare
  -- The visit not over: stays last 12 hours at most, so a start bound reads bookings_in_review_idx from 12
  -- hours back. A variable, so the plan is made knowing it (in PL/pgSQL, not as a SQL function's generic plan,
  -- which could not tell how much of the index the bound leaves).
  since timestamptz := case when p_include_ended then '-infinity'::timestamptz
                            else pg_catalog.now() - interval '12 hours' end;
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'p_limit is a page of 1 to 1000 reviews';
  end if;
  if p_offset is null or p_offset < 0 then
    raise exception using errcode = 'AS005', message = 'p_offset is 0 or more';
  end if;
  return query
  -- The page's bookings read once, whole (joined again by id, a large bookings table could be read whole).
  with page as materialized (
    select b as booking from public.bookings b
     where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
       and b.start_at > since and (p_include_ended or b.end_at > pg_catalog.now())
     order by b.start_at, b.id
     limit p_limit offset p_offset),
  -- The ways each party size of the page can be seated, once per restaurant and size.
  seatings as materialized (
    select (s.booking).restaurant_id, (s.booking).party_size, private.seating_options(s.booking) as options
      from (select distinct on ((p.booking).restaurant_id, (p.booking).party_size) p.booking from page p
             order by (p.booking).restaurant_id, (p.booking).party_size) s)
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Tables an operator can take with ops.assign_tables now: none while the stay is outside service hours
         -- (assign_tables would refuse them); else the seating options (free single tables that seat the party,
         -- then combinations the rules allow in which every table is needed) none of whose tables another
         -- booking holds around the stay. Ten at most, least waste first.
         case when private.service_hours_problem(p.booking) is not null then '[]'::jsonb else coalesce((
           select pg_catalog.jsonb_agg(f.numbers order by f.ord)
             from (select o.value -> 'numbers' as numbers, o.ord
                     from pg_catalog.jsonb_array_elements(s.options) with ordinality o(value, ord)
                    where not ((o.value -> 'ids') operator(pg_catalog.?|) held.ids)
                    order by o.ord limit 10) f), '[]'::jsonb) end,
         x.alternatives,
         private.alternatives_note(x.alternatives),
         -- The last message the guest received (or may have): what they believe until someone tells them
         -- otherwise. Pending ones may never go out.
         coalesce((select pg_catalog.format('%s: %s, party of %s', o.kind, o.payload ->> 'starts_local',
                                            o.payload ->> 'party_size')
                     from public.notification_outbox o
                    where o.booking_id = b.id and private.may_have_reached_guest(o)
                    order by o.seq desc limit 1), 'nothing yet')
    from page p
    cross join lateral (select (p.booking).*) b
    join public.restaurants r on r.id = b.restaurant_id
    join seatings s on s.restaurant_id = b.restaurant_id and s.party_size = b.party_size,
         -- The tables other bookings hold around the stay (as private.busy_tables asks of each table).
         lateral (select coalesce(pg_catalog.array_agg(distinct a.table_id::text), '{}'::text[]) as ids
                    from public.booking_table_assignments a
                   where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id
                     and a.during && private.blocked_window(p.booking)) held,
         lateral (select case when private.time_may_cure(b.manual_review_reason)
                              then private.seating_alternatives(p.booking) end as alternatives) x
   order by b.start_at, b.id;
end $$;
comment on function ops.manual_review_queue(uuid, boolean, integer, integer) is
  'Bookings in review whose visit is not over (of one restaurant with p_restaurant_id; every review ever made, ended visits too, with p_include_ended => true), soonest first, a page of p_limit (100, at most 1000) from p_offset (0), with the reason and the free tables (or combinations of adjacent tables) that would seat them now. For a booking in review because nothing fits at its time (no_table_fits, exact_search_budget_exhausted, outside_service_hours): alternatives, up to three nearest start times within ±90 minutes on the 15-minute grid with the tables each would get — free now, or (with moves) free once the bookings listed are re-seated, found by the coordinator function once the restaurant has nothing waiting — (take one with ops.accept_alternative), and alternatives_note, the same in words or "no alternative within ±90 minutes". guest_was_told: the last message the guest received (e.g. "booking_confirmed: 2030-10-07 18:00, party of 2"), or "nothing yet": a guest holding a confirmation should hear from the restaurant.';
revoke all on function ops.manual_review_queue(uuid, boolean, integer, integer) from public, anon, authenticated;
grant execute on function ops.manual_review_queue(uuid, boolean, integer, integer) to service_role;
