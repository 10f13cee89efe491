-- Re-seating offers found while a restaurant ran V3 are not stored once it no longer does.
--
-- A function instance reads a review's probes while its restaurant runs V3 and searches for about a second. If
-- the kill switch was pulled, or the restaurant moved to shadow, legacy or off, during that second, the offers
-- were stored all the same and a coordinator.reseating_alternatives event written under assignment.coordinator:
-- a V3 event in a kill-switch or shadow window, which the plan's checks of those phases count (the queue and
-- ops.accept_alternative already hide and refuse such offers; an attacker's review of the rollout paths). The
-- search's result is now answered {outcome: stale} with nothing stored and no event when the restaurant does not
-- run V3 at the moment it is stored (as the function's flags were last heard), and the review keeps its search
-- for when V3 is back, and the sweeper's nudge that sent it, as a review the sweeper does not send while V3 is
-- off does.
-- The body is renamed into private (unchanged, with its grants, settings and comment) and public gets a function
-- of the same signature that asks first, as 20261209020000 did for the clock: the check is added without
-- restating its long body. Callers see the same name, arguments, defaults and results.

alter function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) rename to review_offer_reseating_unchecked;
alter function public.review_offer_reseating_unchecked(uuid, text, jsonb, jsonb, integer) set schema private;
revoke all on function private.review_offer_reseating_unchecked(uuid, text, jsonb, jsonb, integer)
  from public, anon, authenticated, service_role;

create function public.review_offer_reseating(p_booking_id uuid, p_review text, p_offers jsonb,
                                              p_undecided jsonb default '[]', p_search integer default 1)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  restaurant uuid := (select b.restaurant_id from public.bookings b where b.id = p_booking_id);
begin
  -- A booking not found is the stored function's to answer.
  if restaurant is not null and not private.runs_v3(restaurant) then
    -- The sweeper's nudge that sent this search is given back: a review is nudged three times at most, and
    -- a search V3's withdrawal voided must not count as one.
    update private.reseating_nudges n set nudges = greatest(n.nudges - 1, 0)
     where n.booking_id = p_booking_id and n.review = p_review and n.nudges > 0;
    return '{"outcome": "stale"}'::jsonb;
  end if;
  return private.review_offer_reseating_unchecked(p_booking_id, p_review, p_offers, p_undecided, p_search);
end $$;
alter function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) set lock_timeout = '5s';
comment on function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) is
  'Store what the coordinator''s re-seating search found for a booking in review (p_review and p_search from review_reseating_probes): up to three {start_at, table_ids, moves: [{booking_id, from_table_ids, to_table_ids}]}, [] for none, and p_undecided, the start times (ISO) its budget left undecided, which a later search tries (private.reseating_searches_per_review() searches at most); a later search''s offers join the stored ones, nearest first, three at most. Records coordinator.reseating_alternatives. {outcome: stale} and nothing stored when the booking has left that review or changed since, this search of the review was stored already, or its restaurant no longer runs V3 (the search is kept for when it does). AS005 for a malformed offer or time; an offer whose time has passed (during the search) is dropped, as a passed undecided time is. The offers are suggestions: ops.accept_alternative re-checks them under the restaurant lock.';
revoke all on function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) from public, anon, authenticated;
grant execute on function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) to service_role;
