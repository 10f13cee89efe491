-- A wait for a slot that runs out says whether the restaurant is stuck or busy (20261231040000): the
-- rate_limited reason counts the restaurant's bookings in progress and those waiting in its queue ahead of the
-- booking, and says which remedy fits which; its history carries both counts. One slot, held by a booking in
-- progress; three bookings queued (tests.queue_bookings: oldest first, joined the queue 30 s ago).
begin;
select plan(4);

select tests.create_restaurant('Busy') as rid \gset
select tests.add_table(:'rid', 'T1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'rid', 1);
select tests.create_booking(:'rid', 2, '2030-04-07 17:00+00') as holder \gset
set local role service_role;
select public.assignment_begin(:'holder') ->> 'outcome' as began \gset
reset role;
select tests.queue_bookings(:'rid', 3) as q \gset

-- Ten minutes on (a clock only the owner may pass), the last of the queue finds the slot still taken.
select is(public.assignment_begin((:'q'::uuid[])[3], p_now => now() + interval '10 minutes') ->> 'outcome',
  'manual_review', 'a booking that waited past max_deferral_seconds goes to review');
select alike((select manual_review_reason from public.bookings where id = (:'q'::uuid[])[3]),
  format('rate_limited: waited 11 min in the restaurant''s queue for one of its 1 assignment slots; 1 in progress and 2 waiting ahead of it now; bookings that stay in progress are stuck: release them (ops.release_stuck(10, ''<you>'', %L)); a long queue ahead is more bookings than the slots assign: raise ops.set_max_parallel()%%; then ops.retry_bookings(''rate_limited'', ''<you>'', <since>, %L)',
         :'rid', :'rid'),
  'its reason counts those in progress and those ahead, and says which remedy fits which');
select is((select metadata - 'waited_ms' from public.booking_assignment_state_history
            where booking_id = (:'q'::uuid[])[3] and to_state = 'manual_review'),
  '{"deferred_by": "rate_limited", "in_progress": 1, "ahead": 2}'::jsonb, 'its history says the same in numbers');
-- The first of the queue has none ahead of it.
select is(public.assignment_begin((:'q'::uuid[])[1], p_now => now() + interval '10 minutes') #>> '{reason}' ~ '1 in progress and 0 waiting ahead',
  true, 'the first of the queue has none ahead');

select * from finish();
rollback;
