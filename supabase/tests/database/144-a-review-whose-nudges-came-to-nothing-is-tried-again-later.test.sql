-- A review whose three nudges came to nothing is tried again ten minutes later, not never (20261231230000).
-- The coordinator lists the reviews due as service_role; the sweeper nudges as the database owner.
begin;
select plan(7);

-- Four guests in review at 19:00: nothing fits then, so a re-seating search may help.
select tests.create_restaurant('Nudged') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset

-- Three nudges a moment ago that stored nothing: it rests.
insert into private.reseating_nudges (booking_id, review, nudges, last_at) values (:'four', :'key', 3, clock_timestamp());
select ok(not tests.review_due(:'rid', :'four'), 'a review nudged three times just now is not searched');

-- The three were ten minutes ago and more: searched again, by the coordinator's drain or a nudge.
update private.reseating_nudges set last_at = clock_timestamp() - interval '11 minutes' where booking_id = :'four';
select ok(tests.review_due(:'rid', :'four'), 'ten minutes on, it is due for a search again');
select tests.mark_requests();
select ok(private.nudge_reseating(:'rid'), 'a sweep nudges it');
select is(tests.requests_since_mark(array[:'four'::uuid]), 1, 'the review itself is sent to the function');
select is((select nudges from private.reseating_nudges where booking_id = :'four'), 1, 'its count starts again');

-- Within the rest, the nudges still count up to three.
update private.reseating_nudges set nudges = 2, last_at = clock_timestamp() - interval '30 seconds' where booking_id = :'four';
select private.nudge_reseating(:'rid') as again \gset
select is((select nudges from private.reseating_nudges where booking_id = :'four'), 3, 'a third nudge within the rest counts on');
select ok(not tests.review_due(:'rid', :'four'), 'and the review rests again');

select * from finish();
rollback;
