-- A booking deleted while it is in flight wakes its restaurant's queue, as one leaving its slot does
-- (20261231210000). The platform deletes through the Data API, so as service_role.
begin;
select plan(6);

create function pg_temp.woken(p_bookings uuid[]) returns integer language sql as $$
  select count(*)::int from public.bookings where id = any(p_bookings) and next_attempt_at <= now();
$$;

-- One slot, taken by a booking in progress; one booking waits in the queue.
select tests.create_restaurant('Deleted in flight') as rid \gset
select tests.add_table(:'rid', 'D1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'rid', 1);
select tests.create_booking(:'rid', 2, '2030-08-01 19:00+00') as running \gset
select tests.lease_token(public.assignment_begin(:'running')) is not null as begun \gset
select tests.queue_bookings(:'rid', 2) as waiting \gset
select is(pg_temp.woken(:'waiting'), 0, 'the queue waits while the slot is taken');

-- The platform deletes the booking in progress (no guest has heard of it): the head of the queue is woken.
set local role service_role;
delete from public.bookings where id = :'running';
reset role;
select is(pg_temp.woken(:'waiting'), 1, 'deleting a booking in progress wakes the head of its queue');
select is((select next_attempt_at <= now() from public.bookings where id = (:'waiting'::uuid[])[1]), true,
  'the oldest one');

-- Deleting a booking that was itself waiting wakes no more than the slots: the woken head holds the one slot.
set local role service_role;
delete from public.bookings where id = (:'waiting'::uuid[])[2];
reset role;
select is(private.slots_taken(:'rid', now()), 1, 'the one slot is still the woken head''s');

-- Two bookings in progress deleted in one statement, three waiting: the two slots wake two, not more.
select tests.create_restaurant('Deleted together') as together \gset
select tests.add_table(:'together', 'G1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'together', 2);
select tests.create_booking(:'together', 2, '2030-08-03 19:00+00') as run1 \gset
select tests.create_booking(:'together', 2, '2030-08-03 20:00+00') as run2 \gset
select tests.lease_token(public.assignment_begin(:'run1')) is not null as begun1 \gset
select tests.lease_token(public.assignment_begin(:'run2')) is not null as begun2 \gset
select tests.queue_bookings(:'together', 3) as three \gset
set local role service_role;
delete from public.bookings where id in (:'run1', :'run2');
reset role;
select is(pg_temp.woken(:'three'), 2, 'deleting two in one statement wakes two of the three waiting');

-- A restaurant deleted with bookings in flight and a queue goes, bookings and all.
select tests.create_restaurant('Closing') as closing \gset
select tests.create_booking(:'closing', 2, '2030-08-02 19:00+00') as closing_running \gset
select tests.lease_token(public.assignment_begin(:'closing_running')) is not null as closing_begun \gset
select tests.queue_bookings(:'closing', 2) is not null as closing_waiting \gset
select lives_ok(format('delete from public.restaurants where id = %L', :'closing'),
  'a restaurant is deleted with its bookings in flight and its queue');

select * from finish();
rollback;
