-- A wake passes over a booking already handed out (20261231140000): the queue's head claimed by a claim loop
-- and not begun yet speaks for a slot already (private.slots_taken counts it), so a slot that frees meanwhile
-- wakes the booking behind it.
begin;
select plan(7);

select tests.create_restaurant('Handed Out') as rid \gset
select tests.queue_bookings(:'rid', 3) as q \gset
-- Two slots, so that one booking on its way and one leaving its slot leave exactly one free.
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'rid', 2);
-- The longest waiting is woken, then claimed by a coordinator's claim loop through the Data API (its next look
-- a minute out, so that the hand-out can lapse before it is due again).
update public.bookings set next_attempt_at = now() - interval '1 second' where id = (:'q'::uuid[])[1];
set local role service_role;
select is(public.assignment_claim_due(10, :'rid', 60000), array[(:'q'::uuid[])[1]], 'the claim hands out the woken head');
reset role;

select is(private.slots_taken(:'rid', now()), 1, 'the booking handed out speaks for a slot');
select is(private.queue_head(:'rid', 1, now()), array[(:'q'::uuid[])[2]],
  'the head for one free slot is the booking behind the one handed out');

-- A slot freeing wakes that booking, and leaves the one on its way as it was (before, it woke the head again
-- and the booking behind it waited).
select tests.create_booking(:'rid', 2, '2031-01-01 19:00+00') as leaving \gset
update public.bookings set deferred_since = null where id = :'leaving';
select tests.force_state(:'leaving', 'assignment_in_progress');
select tests.force_state(:'leaving', 'manual_review', 'no_table_fits: test');
select is((select array_agg(id order by created_at) from public.bookings
            where id = any(:'q'::uuid[]) and next_attempt_at <= now()),
          array[(:'q'::uuid[])[2]], 'the freed slot woke the booking behind the head, not the head again');

-- A hand-out no longer counts once its worker has had nudge_grace to begin it (it died), nor once the row was
-- touched after it (begun, and sent back to the queue): then it is the head again.
update public.bookings set next_attempt_at = now() + interval '1 minute' where id = (:'q'::uuid[])[2];
select is(private.queue_head(:'rid', 1, now() + interval '11 seconds'), array[(:'q'::uuid[])[1]],
  'a hand-out older than nudge_grace is passed over no longer');
update public.bookings set last_dispatched_at = now() - interval '1 second' where id = (:'q'::uuid[])[1];
select is(private.queue_head(:'rid', 1, now()), array[(:'q'::uuid[])[1]],
  'nor one whose row was touched after it was handed out');

-- A sweep's hand-out (its p_now read from the clock, later than the transaction's start the row's update
-- time is) is passed over just the same.
select tests.create_restaurant('Swept') as swept_rid \gset
select tests.queue_bookings(:'swept_rid', 2) as swept \gset
update public.bookings set next_attempt_at = now() - interval '1 second' where id = (:'swept'::uuid[])[1];
select private.sweep(clock_timestamp()) is not null as swept_now \gset
select is(private.queue_head(:'swept_rid', 1, clock_timestamp()), array[(:'swept'::uuid[])[2]],
  'the head a sweep dispatched is passed over for the booking behind it');

select * from finish();
rollback;
