-- A review whose stored re-seating offers can all no longer be made is searched again.
--
-- Since 20261231220000 the queue shows a stored offer only while ops.accept_alternative could still make it.
-- A review whose every stored offer went so (the bookings it would move cancelled, moved, placed by staff,
-- close to their start; the tables it would use taken; their times past) still counted as searched
-- (review_reseating_due), so it was not searched again until the review itself changed, and its queue showed
-- its free times alone, or nothing, while other re-seatings may seat the party now. This was decision 7 of the
-- closing note of 2026-12-06.
--
-- Now the sweeper's nudge (private.nudge_reseating, which both the local sweeper and hosted pg_cron's own job
-- run every 5 s) first forgets the stored offers of up to 20 reviews whose search is done (no undecided times
-- left, or every search made) and whose every offer went so: the review is then due as one never searched,
-- and the nudge sends it to the coordinator as any other. Offers are looked at once they have stood
-- private.reseating_offers_recheck_after() (2 minutes) since their search, and again at that pace
-- (checked_at), the longest unlooked-at first (a new review's offers by their search, though the row keeps
-- the look at an earlier review's). The look starts from the bookings in review whose visit is ahead (the
-- partial index of reviews by start, bounded by now(): the clock, volatile, cannot bound an index scan), so
-- its cost follows the reviews open now, not every review ever stored. A review is so searched at
-- most one round (up to private.reseating_searches_per_review() searches) per 2 minutes: were the coordinator
-- to store offers this check refuses at once, that is the pace at which it would search the review again,
-- until its time comes. Offers that found nothing ([]) are left: no offer went stale, and nothing new is known.
--
-- The look locks the booking's row, as review_offer_reseating does before it reads what is stored, and passes
-- over a booking another transaction holds. A search stored after the look read the row, but before it locked
-- it, changed searched_at, so the look passes the row over; a search stored after the look, being of a review
-- whose search was done, is refused (its number does not follow on), but for a late first search, which is
-- stored as any first search is. An error in the look rolls back the look alone: a warning in the database's
-- log, and the nudge goes on.
--
-- What it leaves: a review with some offers still open keeps them all, the stale ones in their places among
-- the three (the queue shows its free times instead of those).
--
-- private.nudge_reseating: as in 20261231230000, with the forgetting first.

alter table private.reseating_offers add column checked_at timestamptz;
comment on column private.reseating_offers.checked_at is
  'When the sweeper last looked whether any stored offer could still be made (private.forget_stale_reseating_offers); null until the first look.';

-- How long stored offers stand before the sweeper looks whether any can still be made, and between its looks.
create function private.reseating_offers_recheck_after()
returns interval language sql immutable set search_path = '' as $$
  select interval '2 minutes'
$$;

-- Forgets the stored offers of up to p_limit reviews (of one restaurant with p_restaurant_id) whose search is
-- done and whose every offer can no longer be made (its time past by the clock, or private.offer_still_open
-- false), so that review_reseating_due lists them as never searched; returns how many it forgot. Bookings and
-- rows another transaction holds (a search being stored) are passed over.
create function private.forget_stale_reseating_offers(p_limit integer default 20, p_restaurant_id uuid default null)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  forgotten integer;
begin
  with picked as (
    select o.booking_id, o.offers, b as booking
      from public.bookings b
      join private.reseating_offers o on o.booking_id = b.id
     where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
       and b.start_at > pg_catalog.clock_timestamp()
       and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
       and o.review = private.review_key(b)
       and pg_catalog.jsonb_array_length(o.offers) > 0
       and (pg_catalog.cardinality(o.undecided) = 0 or o.searches >= private.reseating_searches_per_review())
       and o.searched_at < pg_catalog.clock_timestamp() - private.reseating_offers_recheck_after()
       and (o.checked_at is null
            or o.checked_at < pg_catalog.clock_timestamp() - private.reseating_offers_recheck_after())
     order by greatest(o.checked_at, o.searched_at)
     limit p_limit
       for no key update of b, o skip locked),
  judged as (
    select p.booking_id,
           not exists (select 1 from pg_catalog.jsonb_array_elements(p.offers) e
                        where (e.value ->> 'start_at')::timestamptz > pg_catalog.clock_timestamp()
                          and private.offer_still_open(p.booking, e.value)) as stale
      from picked p),
  gone as (
    delete from private.reseating_offers o using judged j
     where o.booking_id = j.booking_id and j.stale
    returning o.booking_id),
  looked as (
    update private.reseating_offers o set checked_at = pg_catalog.clock_timestamp()
      from judged j
     where o.booking_id = j.booking_id and not j.stale
    returning o.booking_id)
  select (select count(*) from gone) into forgotten;
  return forgotten;
end $$;

create or replace function private.nudge_reseating(p_restaurant_id uuid default null)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
begin
  if not private.dispatch_configured() then
    return false;
  end if;
  -- Reviews whose every stored offer went stale become due as never searched, before the pick. A failure
  -- here must not stop the nudges (hosted pg_cron runs this with nothing around it).
  begin
    perform private.forget_stale_reseating_offers(20, p_restaurant_id);
  exception when others or query_canceled then
    raise warning 'stale re-seating offers not looked at: % (SQLSTATE %)', sqlerrm, sqlstate;
  end;
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

revoke all on all routines in schema private from public, anon, authenticated;
