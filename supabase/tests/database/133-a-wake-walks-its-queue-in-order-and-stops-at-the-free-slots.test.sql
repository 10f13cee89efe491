-- A wake walks its queue in order and stops at the free slots (20261231120000): private.queue_head picks the
-- longest-waiting queued bookings not woken yet and not failed in the last minute, as many as asked, locked.
begin;
select plan(7);

select tests.create_restaurant('Long Queue') as rid \gset
select tests.queue_bookings(:'rid', 6) as q \gset
-- The two longest waiting were woken already and wait for a claim; the third's row failed a sweep just now.
update public.bookings set next_attempt_at = now() - interval '1 second' where id = any((:'q'::uuid[])[1:2]);
select private.record_event('assignment.sweeper', 'sweeper.row_failed', 'error', '{}'::jsonb, :'rid', (:'q'::uuid[])[3]);

select is(private.queue_head(:'rid', 2, now()), (:'q'::uuid[])[4:5],
  'the two longest waiting of those not woken yet and not failed lately, in the queue''s order');
select is(private.queue_head(:'rid', 10, now()), (:'q'::uuid[])[4:6], 'no more than the queue has');
select is(private.queue_head(:'rid', 0, now()), '{}'::uuid[], 'none when no slot is free');
select is(private.queue_head(gen_random_uuid(), 3, now()), '{}'::uuid[], 'none for a restaurant without a queue');
select tests.create_restaurant('Failed Earlier') as rid2 \gset
select tests.queue_bookings(:'rid2', 2) as q2 \gset
select private.record_event('assignment.sweeper', 'sweeper.row_failed', 'error', '{}'::jsonb, :'rid2', (:'q2'::uuid[])[1],
                            now() - interval '61 seconds');
select is(private.queue_head(:'rid2', 1, now()), array[(:'q2'::uuid[])[1]],
  'a failure over a minute old no longer holds its booking back');
-- Ties in the time a booking joined go by id, as the wake always ordered them.
update public.bookings set created_at = (select created_at from public.bookings where id = (:'q'::uuid[])[4])
 where id = any((:'q'::uuid[])[4:6]);
select is(private.queue_head(:'rid', 3, now()),
  (select array_agg(id order by id) from public.bookings where id = any((:'q'::uuid[])[4:6])),
  'bookings that joined at the same moment go in the order of their ids');
-- A freed slot wakes the head through it.
select tests.create_booking(:'rid', 2, '2031-01-01 19:00+00') as leaving \gset
update public.bookings set deferred_since = null where id = :'leaving';
select tests.force_state(:'leaving', 'assignment_in_progress');
select tests.force_state(:'leaving', 'manual_review', 'no_table_fits: test');
select ok((select next_attempt_at <= now() from public.bookings
            where id = (select id from public.bookings where id = any((:'q'::uuid[])[4:6]) order by created_at, id limit 1)),
  'a booking leaving its slot wakes the longest waiting the head names');

select * from finish();
rollback;
