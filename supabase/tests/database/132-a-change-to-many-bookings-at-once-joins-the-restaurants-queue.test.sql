-- A change to many bookings at once joins the restaurant's queue: bookings sent back to be planned are nudged
-- while the restaurant has free slots and queue behind them otherwise, as new bookings do (20261231100000).
-- The platform's writes go through the Data API, so they run here as service_role.
begin;
select plan(14);


-- 1. Six confirmed bookings of a restaurant with two slots; the platform moves the whole evening by 15 minutes.
select tests.create_restaurant('Moved Evening') as rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'rid', 2);
select array_agg(tests.confirmed_on(:'rid', 2, '2030-05-10 19:00+00'::timestamptz + make_interval(mins => 15 * i),
                                    tests.add_table(:'rid', 'T' || i, 2)) order by i) as evening
  from generate_series(1, 6) i \gset
select tests.mark_requests();
set local role service_role;
update public.bookings set start_at = start_at + interval '15 minutes', end_at = end_at + interval '15 minutes'
 where restaurant_id = :'rid';
reset role;
select is((select array_agg(distinct assignment_state) from public.bookings where id = any(:'evening'::uuid[])),
  array['assignment_pending'], 'every moved booking goes back to be planned');
select is(tests.requests_since_mark(:'evening'::uuid[]), 2, 'as many are sent to the coordinator as the restaurant has slots');
select is((select count(*)::int from public.bookings where id = any(:'evening'::uuid[]) and deferred_since is null
              and next_attempt_at > now()), 2, 'those two are due when their nudge is, not queued');
select is((select count(*)::int from public.bookings where id = any(:'evening'::uuid[]) and deferred_since = now()),
  4, 'the other four join the restaurant''s queue');
-- Each joins at the tail: one turn of a slot (10 s over two slots) after the timer before it (20261231500000).
select is((select array_agg(next_attempt_at - now() order by next_attempt_at) from public.bookings
            where id = any(:'evening'::uuid[]) and deferred_since is not null),
  array[interval '10 seconds', interval '15 seconds', interval '20 seconds', interval '25 seconds'],
  'due at their own fallback timers unless a slot frees first: 10 s, then one turn of a slot after each other');

-- 2. One of the two is seated again: its slot frees, and the queue is woken, the longest waiting first.
select id as first from public.bookings where id = any(:'evening'::uuid[]) and deferred_since is null
 order by created_at limit 1 \gset
select id as longest_waiting from public.bookings where id = any(:'evening'::uuid[]) and deferred_since is not null
 order by created_at, id limit 1 \gset
set local role service_role;
select public.assignment_begin(:'first') as began \gset
select public.assignment_commit(:'first', tests.lease_token(:'began'),
                                array[tests.add_table(:'rid', 'X1', 2)], 'test') ->> 'outcome' as committed \gset
reset role;
select is(:'committed'::text, 'confirmed', 'a nudged booking is seated again in its slot');
select ok((select next_attempt_at <= now() from public.bookings where id = :'longest_waiting'),
  'and the slot it frees wakes the longest waiting of the queue');

-- 3. One change while every slot is taken queues too, with nothing sent.
select tests.create_restaurant('Full Now') as full_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'full_rid', 1);
select tests.confirmed_on(:'full_rid', 2, '2030-05-11 21:00+00', tests.add_table(:'full_rid', 'T1', 4)) as one \gset
select tests.create_booking(:'full_rid', 2, '2030-05-11 19:00+00') as running \gset
select tests.force_state(:'running', 'assignment_in_progress');
select tests.mark_requests();
set local role service_role;
update public.bookings set party_size = 3 where id = :'one';
reset role;
select is((select deferred_since is not null from public.bookings where id = :'one'), true,
  'a change while the restaurant''s slots are taken waits in its queue');
select is(tests.requests_since_mark(array[:'one'::uuid]), 0, 'without a request of its own');

-- 4. One change while a slot is free is sent at once, as before.
select tests.create_restaurant('Quiet Now') as quiet_rid \gset
select tests.confirmed_on(:'quiet_rid', 2, '2030-05-12 19:00+00', tests.add_table(:'quiet_rid', 'T1', 4)) as calm \gset
select tests.mark_requests();
set local role service_role;
update public.bookings set party_size = 3 where id = :'calm';
reset role;
select is((select array[assignment_state, (deferred_since is null)::text] from public.bookings where id = :'calm'),
  array['assignment_pending', 'true'], 'a change while a slot is free is not queued');
select is(tests.requests_since_mark(array[:'calm'::uuid]), 1, 'and is sent to the coordinator at once');

-- 5. What the statement sends is counted, not what it touches: bookings waiting out a retry's backoff, which
-- the same update changes, were sent nothing and take no slot.
select tests.create_restaurant('Backing Off') as off_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'off_rid', 2);
select array_agg(tests.confirmed_on(:'off_rid', 2, '2030-05-13 19:00+00'::timestamptz + make_interval(mins => i),
                                    tests.add_table(:'off_rid', 'T' || i, 2))) as settled
  from generate_series(1, 2) i \gset
select array_agg(tests.create_booking(:'off_rid', 2, '2030-05-13 20:00+00'::timestamptz + make_interval(mins => i)))
         as backing_off
  from generate_series(1, 2) i \gset
select tests.force_state(b, 'assignment_pending') from unnest(:'backing_off'::uuid[]) b;
update public.bookings set deferred_since = null, next_attempt_at = now() + interval '30 seconds'
 where id = any(:'backing_off'::uuid[]);
select tests.mark_requests();
set local role service_role;
update public.bookings set buffer_after_minutes = 20 where restaurant_id = :'off_rid';
reset role;
select is(array[tests.requests_since_mark(:'settled'::uuid[]),
                (select count(*)::int from public.bookings where id = any(:'settled'::uuid[]) and deferred_since is not null)],
  array[2, 0], 'both changed bookings are sent: the two backing off beside them, touched too, take no slot');

-- 6. A value a session left in the setting 20261231100000 counted sends in (read no more since
-- 20261231150000, where the sends are marked on the bookings) neither breaks a change nor lifts the cap.
select tests.create_restaurant('Left Set') as set_rid \gset
select tests.confirmed_on(:'set_rid', 2, '2030-05-14 19:00+00', tests.add_table(:'set_rid', 'T1', 2)) as left_set \gset
select set_config('pipeline.sent_back', 'not json', true);
set local role service_role;
select lives_ok(format($$update public.bookings set party_size = 1 where id = %L$$, :'left_set'),
  'a change goes through whatever the retired setting held');
reset role;
select tests.create_restaurant('Set Low') as low_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'low_rid', 1);
select array_agg(tests.confirmed_on(:'low_rid', 2, '2030-05-14 19:00+00'::timestamptz + make_interval(mins => i),
                                    tests.add_table(:'low_rid', 'T' || i, 2))) as set_low
  from generate_series(1, 2) i \gset
select tests.mark_requests();
select set_config('pipeline.sent_back', jsonb_build_object(:'low_rid'::text, -100)::text, true);
set local role service_role;
update public.bookings set party_size = 1 where restaurant_id = :'low_rid';
reset role;
select is(tests.requests_since_mark(:'set_low'::uuid[]), 1, 'and a value left in it lifts no cap: one slot, one request');

select * from finish();
rollback;
