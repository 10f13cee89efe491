-- An accepted re-seating offer's own tables are checked against the floor plan as it is at the accept
-- (private.accept_alternative_at, its body from 20261227120000). The offer was checked when it was stored; a
-- table made smaller since leaves the review and its offer as they were (a change that seats fewer plans no
-- review again), and then only the check of the moved booking against every rule stands between the offer and
-- a party seated at a table too small for it. Refused as a rule broken, with nothing moved.
begin;
select plan(5);

-- A 2-top and two 4-tops. A couple holds one 4-top and four guests the other, 19:00-20:45, both placed by the
-- pipeline (so they may be moved): four more at 19:00 fit nowhere within ±90 minutes unless the couple moves to
-- the 2-top.
select tests.create_restaurant('Smaller since') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.confirmed_on(:'rid', 4, '2030-06-03 19:00+00', :'t3') as others \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset

-- The search's offer, stored as the coordinator stores it: at 19:15 on T2, the couple moved to T1.
set local role service_role;
select is(public.review_offer_reseating(:'four', :'key', jsonb_build_array(jsonb_build_object(
            'start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid),
            'moves', jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid,
              'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid))))))
          ->> 'outcome', 'stored', 'the offer is stored');
-- The platform makes T2 a 3-top; the couple still fits it.
update public.restaurant_tables set capacity = 3, max_party_size = 3 where id = :'t2';
reset role;
select ok((select private.current_reseating_offers(b) is not null from public.bookings b where b.id = :'four'),
  'the review and its offer stay as they were');

-- The operator accepts it through the Data API's role.
set local role service_role;
select throws_like(format($$select ops.accept_alternative(%L, '2030-06-03 19:15+00', 'ana')$$, :'four'),
  'those tables break a rule: %', 'accepting it is refused: T2 no longer seats four');
reset role;
select is(array[tests.tables_held(:'couple'), coalesce(tests.tables_held(:'four'), '')], array['T2', ''],
  'nobody moved and the four hold nothing');
select is((select assignment_state from public.bookings where id = :'four'), 'manual_review', 'the four are still in review');

select * from finish();
rollback;
