-- A review whose three nudges came to nothing is tried again ten minutes later, not never.
--
-- While reviews wait for a re-seating search, each sweep sends the function the first of them, each review at
-- most three times (private.reseating_nudges), so that a function that keeps V3 off or fails on a review is
-- not sent it every 5 s. A nudge also counts when the request finds a reason to pass the review over for now
-- (the instance's solver busy with bookings, a booking of the restaurant just come due), and
-- review_reseating_due left out a review nudged three times from every search, the nudges and the coordinator's
-- own after a drain, until the review changed: a review whose nudges came at three busy moments was never
-- searched, its alternatives never found. Found by an attacker's review of the re-seating offers.
--
-- Now three nudges rest a review for ten minutes (private.reseating_nudge_rest), after which its count starts
-- again: a function that fails on a review is sent it three times every ten minutes or so, one request a sweep
-- at most as before.
--
-- public.review_reseating_due: as in 20261212000000 (with the lock_timeout of 20261224000000, set again here);
-- private.nudge_reseating: as in 20261211000000; both with the rest.

-- How long a review nudged three times rests before it is sent again.
create function private.reseating_nudge_rest()
returns interval language sql immutable set search_path = '' as $$
  select interval '10 minutes'
$$;

create or replace function public.review_reseating_due(p_limit integer default 5, p_restaurant_id uuid default null)
returns uuid[] language plpgsql stable security definer set search_path = '' as $$
begin
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception using errcode = 'AS005', message = 'limit is 1 to 100';
  end if;
  -- Called by every sweep and every drain that runs dry: the reviews not yet searched, or searched with times
  -- left (and not resting after three nudges), first by the booking's own columns, then the restaurant checks
  -- once per restaurant among those few.
  return coalesce((
    with candidate as materialized (
      select b.id, b.start_at, b.restaurant_id from public.bookings b
       where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
         and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
         and private.time_may_cure(b.manual_review_reason)
         and not exists (select 1 from private.reseating_offers o
                          where o.booking_id = b.id and o.review = private.review_key(b)
                            and (pg_catalog.cardinality(o.undecided) = 0
                                 or o.searches >= private.reseating_searches_per_review()))
         and not exists (select 1 from private.reseating_nudges n
                          where n.booking_id = b.id and n.review = private.review_key(b)
                            and n.nudges >= 3
                            and n.last_at > pg_catalog.clock_timestamp() - private.reseating_nudge_rest())),
    restaurant as materialized (select distinct c.restaurant_id from candidate c),
    ready as materialized (
      select r.restaurant_id from restaurant r
       where private.runs_v3(r.restaurant_id) and private.restaurant_is_idle(r.restaurant_id))
    select pg_catalog.array_agg(x.id order by x.start_at)
      from (select c.id, c.start_at from candidate c join ready using (restaurant_id)
             order by c.start_at limit p_limit) x), '{}');
end $$;
alter function public.review_reseating_due(integer, uuid) set lock_timeout = '5s';

create or replace function private.nudge_reseating(p_restaurant_id uuid default null)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
begin
  if not private.dispatch_configured() then
    return false;
  end if;
  select x.* into b
    from pg_catalog.unnest(public.review_reseating_due(20, p_restaurant_id)) d(id) join public.bookings x on x.id = d.id
   where not exists (select 1 from private.reseating_nudges n
                      where n.booking_id = x.id and n.review = private.review_key(x)
                        and n.last_at > pg_catalog.clock_timestamp() - interval '20 seconds')
   order by x.start_at limit 1;
  if b.id is null then
    return false;
  end if;
  -- Counted again from one for another review of the booking, or once the three before have rested.
  insert into private.reseating_nudges (booking_id, review, nudges, last_at)
  values (b.id, private.review_key(b), 1, pg_catalog.clock_timestamp())
  on conflict (booking_id) do update
    set nudges = case when private.reseating_nudges.review = excluded.review
                           and private.reseating_nudges.last_at > excluded.last_at - private.reseating_nudge_rest()
                      then private.reseating_nudges.nudges + 1 else 1 end,
        review = excluded.review, last_at = excluded.last_at;
  return private.dispatch_booking(b.id, 'reseating') is not null;
end $$;

comment on function public.review_reseating_due(integer, uuid) is
  'Bookings in review that a re-seating search may help (nothing fits at their time), not yet searched in this review or searched with times left undecided (private.reseating_searches_per_review() searches at most), and not resting after three nudges (private.reseating_nudge_rest()), of restaurants on the V3 engine with nothing waiting (of one restaurant with p_restaurant_id); soonest first, up to p_limit (1–100).';

revoke all on all routines in schema private from public, anon, authenticated;
