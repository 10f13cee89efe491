-- A booking woken in its queue that nobody takes holds no slot after nudge_grace (20261231170000): a stalled
-- queue (no sweep, no coordinator running) no longer holds back the restaurant's new bookings, which pg_net
-- still sends. The platform's inserts go through the Data API, so they run here as service_role.
begin;
select plan(6);

-- 1. A due booking in the queue counts as a slot for nudge_grace after it came due, and not after.
select tests.create_restaurant('Woken') as woken_rid \gset
select tests.queue_bookings(:'woken_rid', 1) as one \gset
update public.bookings set next_attempt_at = now() where id = (:'one'::uuid[])[1];
select is(array[private.slots_taken(:'woken_rid', now()), private.slots_taken(:'woken_rid', now() + interval '9 seconds'),
                private.slots_taken(:'woken_rid', now() + interval '11 seconds')],
  array[1, 1, 0], 'a woken booking holds its slot while a claim or a sweep would take it, not after');

-- 2. A stalled queue: three bookings due for a minute, two slots, nothing in flight, none handed out.
select tests.create_restaurant('Stalled') as stalled_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'stalled_rid', 2);
select tests.queue_bookings(:'stalled_rid', 3) as stalled \gset
update public.bookings set next_attempt_at = now() - interval '1 minute' where id = any(:'stalled'::uuid[]);
select is(private.slots_taken(:'stalled_rid', now()), 0, 'bookings due for a minute that nobody took hold no slot');
select tests.mark_requests();
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at) values (:'stalled_rid', 2, '2030-09-01 19:00+00')
returning id as newcomer, (deferred_since is null) as sent_at_insert \gset
reset role;
select is(array[:'sent_at_insert'::boolean::int, tests.requests_since_mark(array[:'newcomer'::uuid])], array[1, 1],
  'a new booking is dispatched at insert: pg_net sends it without the sweeper');
select is(private.slots_taken(:'stalled_rid', now()), 1, 'the newcomer on its way holds a slot');
set local role service_role;
select is((select array_agg(x order by x) from unnest(public.assignment_claim_due(10, :'stalled_rid')) x),
  (select array_agg(x order by x) from unnest(:'stalled'::uuid[]) x),
  'and a claim, as the coordinator it starts makes, takes the stalled queue');
reset role;

-- 3. A booking woken a moment ago still holds its slot: a new booking then waits behind it.
select tests.create_restaurant('Just Woken') as fresh_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'fresh_rid', 1);
select tests.queue_bookings(:'fresh_rid', 2) as fresh \gset
update public.bookings set next_attempt_at = now() where id = (:'fresh'::uuid[])[1];
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at) values (:'fresh_rid', 2, '2030-09-02 19:00+00')
returning (deferred_since is not null) as queued_behind \gset
reset role;
select ok(:'queued_behind'::boolean, 'a new booking queues behind one just woken');

select * from finish();
rollback;
