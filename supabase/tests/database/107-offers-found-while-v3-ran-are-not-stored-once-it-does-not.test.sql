-- Re-seating offers found while the restaurant ran V3 are not stored once it no longer does (20261228140000):
-- the kill switch pulled during a search leaves no offer and no V3 event, and the review keeps its search for
-- when V3 is back. Called as the coordinator calls it (service_role), the switch flipped through ops.
begin;
select plan(7);

-- No deployment's flags heard yet: V3 allowed.
select tests.run_v3();

-- A 2-top and a 4-top. A couple holds the 4-top at 19:00; four guests at 19:00 are in review.
select tests.create_restaurant('Switched') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-05 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-05 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset
select jsonb_build_array(jsonb_build_object('start_at', '2030-06-05 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid),
         'moves', jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid,
                                                       'from_table_ids', jsonb_build_array(:'t2'::uuid),
                                                       'to_table_ids', jsonb_build_array(:'t1'::uuid))))) as offers \gset
create function pg_temp.v3_events(p_booking uuid) returns integer language sql as $$
  select count(*)::int from public.observability_events e
   where e.booking_id = p_booking and e.event_type = 'coordinator.reseating_alternatives';
$$;

-- The sweeper has sent the review twice already for its search.
insert into private.reseating_nudges (booking_id, review, nudges, last_at) values (:'four', :'key', 2, now());

set local role service_role;
select public.review_reseating_probes(:'four') -> 'search' as search \gset
-- The operator pulls the kill switch while the search runs.
select ops.set_kill_switch(true, 'ana', 'manual review rate doubled') is not null as pulled \gset
select is(public.review_offer_reseating(:'four', :'key', :'offers'::jsonb, '[]', :search) ->> 'outcome', 'stale',
  'a search that ends after the kill switch stores nothing');
reset role;
select is(array[(select count(*)::int from private.reseating_offers where booking_id = :'four'), pg_temp.v3_events(:'four')],
  array[0, 0], 'no offer, and no V3 event in the kill switch''s window');
select is((select nudges from private.reseating_nudges where booking_id = :'four'), 1,
  'and the nudge that sent the search is given back, so the review is not dropped for searches V3 voided');

-- The same for a restaurant moved to shadow during the search.
set local role service_role;
select ops.set_kill_switch(false, 'ana', 'fixed') is not null as released \gset
select ops.set_restaurant_mode(:'rid', 'shadow', 'ana', 'back to comparing') is not null as shadowed \gset
select is(public.review_offer_reseating(:'four', :'key', :'offers'::jsonb, '[]', :search) ->> 'outcome', 'stale',
  'nor one that ends after its restaurant went to shadow');

-- V3 back: the review's search is still its first, and stored.
select ops.set_restaurant_mode(:'rid', 'v3', 'ana', 'compared enough') is not null as back \gset
select is(public.review_reseating_probes(:'four') -> 'search', :'search'::jsonb, 'the review keeps its search');
select is(public.review_offer_reseating(:'four', :'key', :'offers'::jsonb, '[]', :search) ->> 'outcome', 'stored',
  'which is stored once V3 runs again');
reset role;
select is(pg_temp.v3_events(:'four'), 1, 'with its event');

select * from finish();
rollback;
