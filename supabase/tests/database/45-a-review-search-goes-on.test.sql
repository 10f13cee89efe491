-- A review's re-seating search that ran out of its budget goes on where it stopped (20261212000000): the
-- review is listed again with only the times left undecided, a later search's offers join the stored ones
-- nearest first, three at most, and a review is searched four times at most.
begin;
select plan(28);

-- A 2-top and a 4-top. A couple holds the 4-top 19:00–20:45; four guests at 19:00 are in review.
select tests.create_restaurant('Goes on') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as couple \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
select b.id, b.restaurant_id, :'t2', private.blocked_window(b), 'auto', 'coordinator' from public.bookings b where b.id = :'couple';
select tests.force_state(:'couple', 'confirmed');
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset
select jsonb_build_object('booking_id', :'couple'::uuid, 'from_table_ids', jsonb_build_array(:'t2'::uuid),
                          'to_table_ids', jsonb_build_array(:'t1'::uuid)) as move \gset
create function pg_temp.offer(p_start text, p_table uuid, p_move jsonb) returns jsonb language sql as $$
  select jsonb_build_object('start_at', p_start, 'table_ids', jsonb_build_array(p_table), 'moves', jsonb_build_array(p_move));
$$;
grant execute on function pg_temp.offer(text, uuid, jsonb) to service_role;
create function pg_temp.stored(p_booking uuid) returns text language sql as $$
  select string_agg(to_char((e ->> 'start_at')::timestamptz at time zone 'UTC', 'HH24:MI'), ' ' order by n)
    from private.reseating_offers o, jsonb_array_elements(o.offers) with ordinality x(e, n)
   where o.booking_id = p_booking;
$$;

set local role service_role;
-- The first search runs out of time: an offer at 19:15, and 18:45 and 19:30 left undecided.
select is(public.review_offer_reseating(:'four', :'key', jsonb_build_array(pg_temp.offer('2030-06-03 19:15+00', :'t2', :'move')),
            '["2030-06-03T18:45:00Z", "2030-06-03T19:30:00Z"]') ->> 'outcome', 'stored',
  'a search that left times undecided is stored with them');
select ok(:'four' = any(public.review_reseating_due(10, :'rid')), 'the review is due again');
select public.review_reseating_probes(:'four') as probes \gset
select is((select string_agg(to_char((p ->> 'start_at')::timestamptz at time zone 'UTC', 'HH24:MI'), ' ' order by n)
             from jsonb_array_elements(:'probes'::jsonb -> 'probes') with ordinality x(p, n)),
  '18:45 19:30', 'the search that goes on tries only the times left, nearest first');
select is(:'probes'::jsonb -> 'search', '2'::jsonb, 'as the review''s second search');
select is(public.review_offer_reseating(:'four', :'key', '[]', '["2030-06-03T18:45:00Z"]') ->> 'outcome', 'stale',
  'the first search stored again (another instance took the same review) is not stored twice');
reset role;
insert into private.reseating_nudges values (:'four', :'key', 2, now());
set local role service_role;

-- The second search settles them: an offer at 18:45, none at 19:30.
select is(public.review_offer_reseating(:'four', :'key', jsonb_build_array(pg_temp.offer('2030-06-03 18:45+00', :'t2', :'move')),
            '[]', 2) ->> 'offers', '2', 'its offer joins the stored one');
select is(public.review_offer_reseating(:'four', :'key', '[]', '[]', 3) ->> 'outcome', 'stale',
  'a review with nothing left undecided takes no further search');
reset role;
select is((select nudges from private.reseating_nudges where booking_id = :'four'), 0,
  'a stored search starts the sweeper''s count of nudges for the review again');
select is(pg_temp.stored(:'four'), '18:45 19:15', 'nearest first, the earlier on a tie');
select is((select searches from private.reseating_offers where booking_id = :'four'), 2, 'two searches counted');
select ok(not (:'four' = any(public.review_reseating_due(10, :'rid'))), 'with nothing left undecided, the review is done');
select is(public.review_reseating_probes(:'four') ->> 'reason', 'already_searched', 'and is not searched again');
select is((select e.context ->> 'search' || ' ' || jsonb_array_length(e.context -> 'alternatives') || ' ' || (e.context ->> 'undecided')
             from public.observability_events e
            where e.booking_id = :'four' and e.event_type = 'coordinator.reseating_alternatives'
            order by e.created_at desc, e.id desc limit 1),
  '2 2 0', 'the event names the search and what is stored after it');
select is((select q.alternatives_note from ops.manual_review_queue(:'rid') q where q.booking_id = :'four'),
  '18:45 (-15 min): T2, moving 1 booking; 19:15 (+15 min): T2, moving 1 booking', 'the queue offers both');

-- With three offers, a time left undecided farther than the third no longer matters (one as far but earlier
-- still does); a review is searched four times at most.
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as other \gset
select tests.force_state(:'other', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as other_key from public.bookings b where b.id = :'other' \gset
set local role service_role;
select ok(:'other' = any(public.review_reseating_due(10, :'rid')), 'a review not yet searched is due');
select public.review_offer_reseating(:'other', :'other_key', jsonb_build_array(
         pg_temp.offer('2030-06-03 19:15+00', :'t2', :'move'), pg_temp.offer('2030-06-03 18:45+00', :'t2', :'move'),
         pg_temp.offer('2030-06-03 19:30+00', :'t2', :'move')),
       '["2030-06-03T18:30:00Z", "2030-06-03T20:00:00Z"]');
reset role;
select is((select undecided from private.reseating_offers where booking_id = :'other'),
  array['2030-06-03 18:30+00']::timestamptz[], 'only the undecided time not farther than the third offer is kept');
select is(pg_temp.stored(:'other'), '18:45 19:15 19:30', 'the three offers, nearest first');
set local role service_role;
select public.review_offer_reseating(:'other', :'other_key', '[]', '["2030-06-03T18:30:00Z"]', 2);
select public.review_offer_reseating(:'other', :'other_key', '[]', '["2030-06-03T18:30:00Z"]', 3);
select ok(:'other' = any(public.review_reseating_due(10, :'rid')), 'after three, with a time undecided, it is due again');
select public.review_offer_reseating(:'other', :'other_key', '[]', '["2030-06-03T18:30:00Z"]', 4);
reset role;
select is((select searches || ' ' || pg_temp.stored(:'other') from private.reseating_offers where booking_id = :'other'),
  '4 18:45 19:15 19:30', 'searches that find nothing keep what was found');
select ok(not (:'other' = any(public.review_reseating_due(10, :'rid'))) and
          public.review_reseating_probes(:'other') ->> 'reason' = 'already_searched',
  'after four searches the review is not searched again, though a time is still undecided');

-- Undecided times are hints: one no longer among the booking's alternative times is dropped; anything that is
-- not a time is refused with AS005, and nothing is written.
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as third \gset
select tests.force_state(:'third', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as third_key from public.bookings b where b.id = :'third' \gset
set local role service_role;
select public.review_offer_reseating(:'third', :'third_key', '[]', '["2030-06-03T18:35:00Z", "2030-06-03T19:15:00Z"]');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[]', '"2030-06-03T18:30:00Z"', 2)$$, :'third', :'third_key'),
  'AS005', null, 'undecided times not in an array are refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[]', '[null]', 2)$$, :'third', :'third_key'),
  'AS005', null, 'a null among them is refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[]', '["tomorrow at seven"]', 2)$$, :'third', :'third_key'),
  'AS005', null, 'a time that is not one is refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[]', '[]', 0)$$, :'third', :'third_key'),
  'AS005', null, 'a search number out of range is refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[]', '[]', 5)$$, :'third', :'third_key'),
  'AS005', 'search is review_reseating_probes'' search number, 1 to 4', 'a fifth search is refused, naming the limit');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[]', %L, 2)$$, :'third', :'third_key',
                        (select jsonb_agg('2030-06-03T19:15:00Z'::text) from generate_series(1, 13))),
  'AS005', null, 'more than twelve are refused');
reset role;
select is((select searches || ' ' || undecided::text from private.reseating_offers where booking_id = :'third'),
  '1 {"2030-06-03 19:15:00+00"}', 'the time off the grid was dropped, and nothing refused was written');

-- An offer stored earlier whose time is no longer one of the booking's alternative times (it passed) is not
-- carried into the merge.
update private.reseating_offers
   set offers = jsonb_build_array(pg_temp.offer('2030-06-03 18:35+00', :'t2', :'move'))
 where booking_id = :'third';
set local role service_role;
select public.review_offer_reseating(:'third', :'third_key', jsonb_build_array(pg_temp.offer('2030-06-03 19:15+00', :'t2', :'move')), '[]', 2);
reset role;
select is(pg_temp.stored(:'third'), '19:15', 'an earlier offer at a time no longer offered is dropped');

select * from finish();
rollback;
