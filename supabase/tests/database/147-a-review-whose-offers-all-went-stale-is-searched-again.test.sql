-- A review whose stored re-seating offers can all no longer be made is searched again (20261231270000): the
-- sweeper's nudge forgets those offers, so the review is due as one never searched. The coordinator lists the
-- reviews due as service_role and stores a search's offers so; the sweeper runs as the database owner. Each look
-- is at this restaurant only: the pgTAP files run a second time on the database the integration tests filled,
-- whose own stale offers a look at every restaurant would count.
begin;
select plan(20);

-- Stores offers for the booking's review as the coordinator does, as if searched p_ago ago.
create function pg_temp.store(p_booking uuid, p_offers jsonb, p_ago interval) returns void language plpgsql as $$
declare key text := (select private.review_key(b) from public.bookings b where b.id = p_booking);
begin
  set local role service_role;
  perform public.review_offer_reseating(p_booking, key, p_offers);
  reset role;
  update private.reseating_offers set searched_at = clock_timestamp() - p_ago where booking_id = p_booking;
end $$;

create function pg_temp.offer(p_start timestamptz, p_table uuid, p_moved uuid, p_from uuid, p_to uuid)
returns jsonb language sql as $$
  select jsonb_build_object('start_at', p_start, 'table_ids', jsonb_build_array(p_table),
           'moves', jsonb_build_array(jsonb_build_object('booking_id', p_moved,
                                                         'from_table_ids', jsonb_build_array(p_from),
                                                         'to_table_ids', jsonb_build_array(p_to))))
$$;

-- A 2-top and a 4-top; a couple holds the 4-top at 19:00, so four guests fit at 19:15 only if the couple moves
-- to the 2-top. The search stored that offer.
select tests.create_restaurant('Stale offers searched again') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select pg_temp.store(:'four', jsonb_build_array(pg_temp.offer('2030-06-03 19:15+00', :'t2', :'couple', :'t2', :'t1')),
                     interval '5 minutes');
select ok(not tests.review_due(:'rid', :'four'), 'a review with a stored offer is searched, not due');

-- The offer can still be made: looked at, kept, and not looked at again within two minutes.
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'an offer that can still be made is not forgotten');
select ok((select checked_at is not null from private.reseating_offers where booking_id = :'four'),
          'the look is recorded');

-- The couple cancels: the offer can no longer be made, but it was looked at just now.
select tests.force_state(:'couple', 'cancelled');
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'offers looked at within two minutes are not looked at again');

-- Two minutes on, it is forgotten and the review is due as never searched.
update private.reseating_offers set checked_at = clock_timestamp() - interval '3 minutes' where booking_id = :'four';
select is(private.forget_stale_reseating_offers(20, :'rid'), 1, 'offers that can all no longer be made are forgotten');
select ok(tests.review_due(:'rid', :'four'), 'and the review is due for a search again');

-- Offers stored within the last two minutes are not looked at, however stale (a search just made them).
select pg_temp.store(:'four', jsonb_build_array(pg_temp.offer('2030-06-03 19:15+00', :'t2', :'couple', :'t2', :'t1')),
                     interval '30 seconds');
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'offers searched within two minutes stand');

-- A search with times still undecided goes on where it stopped: left to it, though its offers went stale.
update private.reseating_offers set searched_at = clock_timestamp() - interval '1 hour',
       undecided = array['2030-06-03 19:45+00'::timestamptz] where booking_id = :'four';
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'a review whose search goes on is not forgotten');
-- Every search made, times left undecided or not: the search is done, and its offers all went stale.
update private.reseating_offers set searches = private.reseating_searches_per_review() where booking_id = :'four';
select is(private.forget_stale_reseating_offers(20, :'rid'), 1,
          'a review searched as often as it may be, its offers all stale, is forgotten');
select ok(not exists (select 1 from private.reseating_offers where booking_id = :'four'), 'its offers are gone');
select pg_temp.store(:'four', jsonb_build_array(pg_temp.offer('2030-06-03 19:15+00', :'t2', :'couple', :'t2', :'t1')),
                     interval '1 hour');

-- Asked for another restaurant's reviews, the look leaves this one's.
select tests.create_restaurant('Elsewhere') as other \gset
select is(private.forget_stale_reseating_offers(20, :'other'), 0, 'a look at another restaurant forgets nothing here');
select is((select count(*)::int from private.reseating_offers where booking_id = :'four'), 1, 'the offers stay');

-- Offers of an earlier review of the booking (it left review and came back) are not this review's: left.
update private.reseating_offers set review = 'an earlier review' where booking_id = :'four';
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'offers of an earlier review are not looked at');
select is((select count(*)::int from private.reseating_offers where booking_id = :'four'), 1, 'and are kept');
delete from private.reseating_offers where booking_id = :'four';

-- Offers whose times have all passed while the booking's own time is ahead (stored ones, made to have passed
-- here) went stale too, though the pair they would move could move.
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:30+00', :'t2') as pair \gset
select pg_temp.store(:'four', jsonb_build_array(pg_temp.offer('2030-06-03 19:30+00', :'t2', :'pair', :'t2', :'t1')),
                     interval '1 hour');
update private.reseating_offers set offers = jsonb_set(offers, '{0,start_at}', to_jsonb(clock_timestamp() - interval '1 minute'))
 where booking_id = :'four';
select is(private.forget_stale_reseating_offers(20, :'rid'), 1, 'offers whose times have passed are forgotten');

-- A search that found nothing is left: nothing went stale.
select pg_temp.store(:'four', '[]'::jsonb, interval '1 hour');
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'a search that found nothing is not forgotten');
select ok(not tests.review_due(:'rid', :'four'), 'and its review stays searched');

-- Two offers, one of which can still be made: both kept.
delete from private.reseating_offers where booking_id = :'four';
select pg_temp.store(:'four', jsonb_build_array(
         pg_temp.offer('2030-06-03 19:15+00', :'t2', :'couple', :'t2', :'t1'),
         pg_temp.offer('2030-06-03 19:30+00', :'t2', :'pair', :'t2', :'t1')), interval '1 hour');
select is(private.forget_stale_reseating_offers(20, :'rid'), 0, 'a review with one offer still open keeps its offers');
select is((select jsonb_array_length(offers) from private.reseating_offers where booking_id = :'four'), 2,
          'both stored offers stay');

-- The sweeper's nudge forgets first: the pair cancels too, and the nudge sends the review to the function.
select tests.force_state(:'pair', 'cancelled');
update private.reseating_offers set checked_at = null where booking_id = :'four';
select tests.mark_requests();
select private.nudge_reseating(:'rid') as nudged \gset
select is(tests.requests_since_mark(array[:'four'::uuid]), 1,
          'a sweep forgets the stale offers and sends the review to be searched again');

select * from finish();
rollback;
