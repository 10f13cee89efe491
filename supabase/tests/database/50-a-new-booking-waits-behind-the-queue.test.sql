begin;
select plan(9);

-- A new booking joins its restaurant's queue while bookings wait in it, even with a slot free
-- (20261218000000). Bookings are inserted and claimed as service_role, as a platform and the coordinator's
-- Data API client do; staging and checks as the owner. One slot: a holder in progress, one booking queued.
select tests.create_restaurant('Queue first') as r \gset
select tests.add_table(:'r', 'Q1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 1);
create function pg_temp.dispatched(p_booking uuid) returns boolean language sql as $$
  select exists (select 1 from net.http_request_queue q
                  where pg_catalog.convert_from(q.body, 'utf8')::jsonb ->> 'booking_id' = p_booking::text);
$$;
select tests.create_booking(:'r', 2, '2030-05-01 18:00+00') as holder \gset
select public.assignment_begin(:'holder') ->> 'outcome' as began \gset
select tests.create_booking(:'r', 2, '2030-05-01 19:00+00') as queued \gset
select isnt((select deferred_since from public.bookings where id = :'queued'), null,
  'with the slot taken, a new booking joins the queue (as before)');

-- The holder leaves its slot, which wakes the queued booking; the coordinator claims it and has not begun it
-- yet. The slot count sees the slot free in that moment.
select public.cancel_booking(:'holder', 'guest cancelled');
set local role service_role;
select public.assignment_claim_due(p_limit => 10) as claimed \gset
reset role;
select is(:'claimed'::uuid[], array[:'queued'::uuid], 'the woken booking is claimed');
select is(private.slots_taken(:'r', now()), 0, 'and, claimed but not begun, it is not counted');

-- A booking made now waits behind it instead of taking the free slot.
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
values (:'r', 2, '2030-05-01 20:00+00') returning id as latecomer \gset
reset role;
select isnt((select deferred_since from public.bookings where id = :'latecomer'), null,
  'a new booking joins the queue while a booking waits in it, though a slot is free');
select ok(not pg_temp.dispatched(:'latecomer'), 'and is not dispatched: it does not hold the slot');
select is(private.slots_taken(:'r', now()), 0, 'the slot stays free for the booking ahead of it');

-- The claimed booking begins: the queue now holds only the latecomer, and when the slot frees it is woken.
select is(public.assignment_begin(:'queued') ->> 'outcome', 'ready', 'the claimed booking begins in the slot');
select public.cancel_booking(:'queued', 'guest cancelled');
select ok((select next_attempt_at <= now() from public.bookings where id = :'latecomer'),
  'the slot it leaves wakes the latecomer, next in the queue');

-- A restaurant without a queue is unchanged: a new booking takes a free slot and is dispatched.
select tests.create_restaurant('No queue') as other \gset
select tests.add_table(:'other', 'N1', 4);
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
values (:'other', 2, '2030-05-01 18:00+00') returning id as walk_in \gset
reset role;
select ok((select deferred_since is null from public.bookings where id = :'walk_in')
          and pg_temp.dispatched(:'walk_in'), 'with no queue and a slot free, a new booking is dispatched');

select * from finish();
rollback;
