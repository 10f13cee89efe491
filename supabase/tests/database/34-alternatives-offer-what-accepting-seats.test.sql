-- Alternatives offer what accepting them seats (20261210080000): bridges, the policy's buffers, and
-- bookings whose attempts ran out on a no-fit.
begin;
select plan(6);

-- A 4-top, 2-top and 4-top in a row; the 2-top is taken at 19:00, so eight cannot sit then, but can at 20:45.
select tests.create_restaurant('Bridge Alternatives') as rid \gset
select tests.add_table(:'rid', 'W1', 4) as w1 \gset
select tests.add_table(:'rid', 'W2', 2) as w2 \gset
select tests.add_table(:'rid', 'W3', 4) as w3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'rid', least(a, b), greatest(a, b) from (values (:'w1'::uuid, :'w2'::uuid), (:'w2', :'w3')) v(a, b);
select ops.assign_tables(tests.create_booking(:'rid', 2, '2030-05-13 19:00+00'), array['W2'], 'ana') ->> 'outcome' as taken \gset
select tests.create_booking(:'rid', 8, '2030-05-13 19:30+00') as eight \gset
select tests.force_state(:'eight', 'manual_review', 'no_table_fits: test');
select is((select a -> 'tables' from ops.manual_review_queue(:'rid') q, jsonb_array_elements(q.alternatives) a
            where q.booking_id = :'eight' order by (a ->> 'offset_minutes')::int limit 1),
  '["W1", "W2", "W3"]'::jsonb, 'eight are offered the row of three once the 2-top is free');
select is(ops.accept_alternative(:'eight',
            (select (a ->> 'start_at')::timestamptz from ops.manual_review_queue(:'rid') q, jsonb_array_elements(q.alternatives) a
              where q.booking_id = :'eight' order by (a ->> 'offset_minutes')::int limit 1), 'ana') ->> 'outcome',
  'confirmed', 'and accepting it seats them');

-- The booking's own buffers, as accepting will keep them (20261229010000): a booking whose buffer after was set
-- to 0 is offered a time free only without the policy's 15 minutes, and is seated there.
select tests.create_restaurant('Buffers') as bid \gset
update public.service_periods set ends_at = '24:00' where restaurant_id = :'bid';
select tests.add_table(:'bid', 'T1', 2) as t1 \gset
select ops.assign_tables(tests.create_booking(:'bid', 2, '2030-05-13 19:00+00'), array['T1'], 'ana') ->> 'outcome' as a \gset
select ops.assign_tables(tests.create_booking(:'bid', 2, '2030-05-13 22:15+00'), array['T1'], 'ana') ->> 'outcome' as c \gset
select tests.create_booking(:'bid', 2, '2030-05-13 20:30+00') as r \gset
set local role service_role;
update public.bookings set buffer_after_minutes = 0 where id = :'r';
reset role;
select tests.force_state(:'r', 'manual_review', 'no_table_fits: test');
select is((select jsonb_path_query_array(q.alternatives, '$[*].starts_local') from ops.manual_review_queue(:'bid') q
            where q.booking_id = :'r'), '["2030-05-13 20:45"]'::jsonb,
  '20:45 is offered: without a buffer after, its stay ends as the 22:15 booking''s begins');
select is((select array[(ops.accept_alternative(:'r', '2030-05-13 20:45+00', 'ana') ->> 'outcome'),
                        (select buffer_after_minutes::text from public.bookings where id = :'r')]),
  array['confirmed', '0'], 'and accepting it seats the booking there, its buffer kept');

-- Attempts that ran out on a no-fit may still be cured by another time: the queue offers alternatives (the
-- escalation, under the restaurant lock, does not search for them); attempts that ran out on errors, not.
select tests.create_booking(:'bid', 2, '2030-05-14 20:30+00') as exhausted \gset
select tests.force_state(:'exhausted', 'manual_review', 'attempts_exhausted: 4 attempts failed; last: no_table_fits: none free');
select ok((select jsonb_array_length(q.alternatives) > 0 from ops.manual_review_queue(:'bid') q where q.booking_id = :'exhausted'),
  'a booking whose attempts ran out on a no-fit is offered alternatives in the queue');
select ok(not private.time_may_cure('attempts_exhausted: 5 attempts failed; last: error: planner crashed')
          and not private.fixable_by_time('attempts_exhausted: 4 attempts failed; last: no_table_fits: none free'),
  'not one whose attempts ran out on errors, and the escalation itself does not search');

select * from finish();
rollback;
