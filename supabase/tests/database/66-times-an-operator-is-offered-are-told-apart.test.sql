-- An offer whose time passed while its search ran is dropped, not a reason to refuse the search's others
-- (20261225010000; the local times offered on a clock-change night are in 30).
begin;
select plan(3);

-- A 2-top and a 4-top; a couple holds the 4-top. Four guests in review at the first quarter hour at least 20
-- minutes from now, so the grid time 45 minutes earlier has passed.
select tests.create_restaurant('Passing') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select to_timestamp(ceil(extract(epoch from now() + interval '20 minutes') / 900) * 900) as at \gset
select tests.create_booking(:'rid', 2, :'at') as couple \gset
select tests.give_table(:'couple');
select tests.create_booking(:'rid', 4, :'at') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset

select jsonb_build_array(
  jsonb_build_object('start_at', :'at'::timestamptz - interval '45 minutes', 'table_ids', jsonb_build_array(:'t2'::uuid),
    'moves', jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid,
      'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid)))),
  jsonb_build_object('start_at', :'at'::timestamptz + interval '15 minutes', 'table_ids', jsonb_build_array(:'t2'::uuid),
    'moves', jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid,
      'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid))))) as offers \gset
select ok(:'at'::timestamptz - interval '45 minutes' < now(), 'the first offer''s time has passed');
set local role service_role;
select is(public.review_offer_reseating(:'four', :'key', :'offers') ->> 'outcome', 'stored',
  'the search is stored, not refused for the offer whose time passed');
reset role;
select is((select jsonb_agg(o ->> 'start_at') from private.reseating_offers r, jsonb_array_elements(r.offers) o
            where r.booking_id = :'four'),
  jsonb_build_array(to_jsonb(:'at'::timestamptz + interval '15 minutes') #>> '{}'),
  'with the offer still ahead');

select * from finish();
rollback;
