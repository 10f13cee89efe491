-- What a guest may have received counts as heard, even once a newer message replaced it; its sender's late
-- report is taken (a success makes it sent: 20261230040000); a message a claim rewords goes out under a key of
-- its own, which it keeps (20261222000000).
begin;
select plan(27);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

create function pg_temp.claimed(p_booking uuid, p_at timestamptz)
returns table (id bigint, lease_token uuid, kind text, dedupe_key text, payload_kind text)
language sql as $$
  select c.id, c.lease_token, c.kind, c.dedupe_key, c.payload ->> 'kind'
    from public.notification_claim(100, 60000, p_at) c where c.booking_id = p_booking order by c.id;
$$;
create function pg_temp.lease(p_id bigint) returns uuid language sql as $$
  select lease_token from public.notification_outbox where id = p_id;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- 1. The confirmation is handed to a sender that does not report back in time; meanwhile the booking changes.
select tests.create_booking(:'rid', 2, '2030-02-07 19:00+00') as b \gset
select tests.force_state(:'b', 'confirmed');
select id as confirmation, lease_token as confirmation_lease from pg_temp.claimed(:'b', now()) \gset
update public.bookings set start_at = '2030-02-07 19:30+00' where id = :'b';
select tests.force_state(:'b', 'confirmed');

-- Its lease runs out: the confirmation no longer describes the booking, so it is dropped, but it may have
-- arrived, so the change is tried as a change.
select id as change, lease_token as change_lease, dedupe_key as first_key
  from pg_temp.claimed(:'b', now() + interval '1 hour') where kind = 'booking_changed' \gset
select is(:'first_key', :'b' || ':2', 'the change is tried as a change, under its own dedupe key');
select is((select (status, lease_token = :'confirmation_lease', lease_expires_at is not null)::text
             from public.notification_outbox where id = :confirmation), '(superseded,t,t)',
  'the confirmation it replaces is dropped, keeping the lease of the send still out');
select is(public.notification_complete(:change, :'change_lease', false, 'webhook answered 503'), 'pending',
  'the change fails for the moment');
select is((select array[kind, dedupe_key] from pg_temp.claimed(:'b', now() + interval '2 hours')),
  array['booking_changed', :'b' || ':2'],
  'its next try is still a change under the same key: the guest may have the confirmation');

-- 2. The confirmation's sender reports late.
select public.notification_complete(:change, pg_temp.lease(:change), false, 'webhook answered 503') as failed \gset
select is(public.notification_complete(:confirmation, :'confirmation_lease', false, 'webhook answered 503'),
  'superseded', 'a late failure of the dropped confirmation is taken, not refused as lease_lost');
select is((select (lease_expires_at is null, last_error)::text from public.notification_outbox where id = :confirmation),
  '(t,"webhook answered 503")', 'the dropped confirmation no longer counts as received, and says why');
select is((select array[severity, context ->> 'superseded'] from public.observability_events
            where booking_id = :'b' and event_type = 'notification.failed' order by id desc limit 1),
  array['info', 'true'], 'recorded as a late failure, not an alarm');
select is(tests.message_statuses(:'b'),
  array['booking_confirmed superseded', 'booking_changed superseded', 'booking_confirmed pending'],
  'the guest received nothing, so the change gives way to a confirmation');
select is((select array[kind, dedupe_key] from pg_temp.claimed(:'b', now() + interval '4 hours')),
  array['booking_confirmed', :'b' || ':3'], 'which goes out');
select id as last_one from public.notification_outbox where booking_id = :'b' and seq = 3 \gset
select is(public.notification_complete(:confirmation, :'confirmation_lease', false, 'webhook answered 503'),
  'superseded', 'a second late report changes nothing');
select is(tests.message_statuses(:'b'),
  array['booking_confirmed superseded', 'booking_changed superseded', 'booking_confirmed sending'],
  'and queues nothing more');

-- The same dropped confirmation, its late report a success: it is sent (20261230040000), and the change, which
-- the guest holding the old time is owed, still goes.
select tests.create_booking(:'rid', 2, '2030-02-12 19:00+00') as s \gset
select tests.force_state(:'s', 'confirmed');
select id as s1, lease_token as s1_lease from pg_temp.claimed(:'s', now()) \gset
update public.bookings set start_at = '2030-02-12 19:30+00' where id = :'s';
select tests.force_state(:'s', 'confirmed');
select id as s2 from pg_temp.claimed(:'s', now() + interval '1 hour') where kind = 'booking_changed' \gset
select public.notification_complete(:s2, pg_temp.lease(:s2), false, 'webhook answered 503') as failed \gset
select is(public.notification_complete(:s1, :'s1_lease', true), 'sent',
  'a late success of the dropped confirmation is taken: the guest has it');
select is((select kind from pg_temp.claimed(:'s', now() + interval '3 hours')), 'booking_changed',
  'and the change is still owed');

-- 3. A claim that rewords a change as a confirmation (the confirmation before it failed, so the guest
--    received nothing) gives it a key of its own, which its later tries keep.
select tests.create_booking(:'rid', 2, '2030-02-09 19:00+00') as r \gset
select tests.force_state(:'r', 'confirmed');
select id as r1, lease_token as r1_lease from pg_temp.claimed(:'r', now()) \gset
update public.bookings set start_at = '2030-02-09 19:30+00' where id = :'r';
select tests.force_state(:'r', 'confirmed');
select public.notification_complete(:r1, :'r1_lease', false, 'webhook answered 503') as failed \gset
select id as r2, kind, payload_kind, dedupe_key as reworded_key from pg_temp.claimed(:'r', now() + interval '1 hour') \gset
select is(array[:'kind', :'payload_kind'], array['booking_confirmed', 'booking_confirmed'],
  'the change goes out as the confirmation');
select is(:'reworded_key', :'r' || ':2:booking_confirmed', 'under a key of its own');
select public.notification_complete(:r2, pg_temp.lease(:r2), false, 'webhook answered 503') as failed \gset
select is((select dedupe_key from pg_temp.claimed(:'r', now() + interval '2 hours')), :'reworded_key',
  'which its later tries keep');
select is((select dedupe_key from public.notification_outbox where id = :r2), :'reworded_key',
  'as the outbox row does');

-- 4. A booking changed back to what a confirmation still out said is confirmed again (its sender may have
--    crashed before sending: never not at all), with that confirmation under its own key, so a mailer that had
--    it drops the repeat (20261230040000); a cancelled one is told of the cancellation, unless that
--    confirmation turns out to have failed.
select tests.create_booking(:'rid', 2, '2030-02-08 19:00+00') as back \gset
select tests.force_state(:'back', 'confirmed');
select id as first, lease_token as first_lease from pg_temp.claimed(:'back', now()) \gset
update public.bookings set start_at = '2030-02-08 19:30+00' where id = :'back';
select tests.force_state(:'back', 'confirmed');
select id as moved, lease_token as moved_lease
  from pg_temp.claimed(:'back', now() + interval '1 hour') where kind = 'booking_changed' \gset
select public.notification_complete(:moved, :'moved_lease', false, 'webhook answered 503') as failed \gset
update public.bookings set start_at = '2030-02-08 19:00+00' where id = :'back';
select tests.force_state(:'back', 'confirmed');
select is(tests.message_statuses(:'back'), array['booking_confirmed pending', 'booking_changed superseded'],
  'changed back: the confirmation still out is owed again');
select is((select array[kind, dedupe_key] from pg_temp.claimed(:'back', now() + interval '2 hours')),
  array['booking_confirmed', :'back' || ':1'], 'under its own key');

select tests.create_booking(:'rid', 2, '2030-02-11 19:00+00') as gone \gset
select tests.force_state(:'gone', 'confirmed');
select id as g1, lease_token as g1_lease from pg_temp.claimed(:'gone', now()) \gset
update public.bookings set party_size = 4 where id = :'gone';
select count(*) as none from pg_temp.claimed(:'gone', now() + interval '1 hour') \gset
-- The platform cancels, and the dispatcher reports, as the Data API's service role.
set local role service_role;
select public.cancel_booking(:'gone', 'guest called') is not null as cancelled \gset
select is(tests.message_statuses(:'gone'), array['booking_confirmed superseded', 'booking_cancelled pending'],
  'a guest who may hold the confirmation is told of the cancellation');
select is(public.notification_complete(:g1, :'g1_lease', false, 'webhook answered 503'), 'superseded',
  'then that confirmation''s sender reports it failed');
reset role;
select is(tests.message_statuses(:'gone'), array['booking_confirmed superseded', 'booking_cancelled superseded'],
  'so the guest, who heard nothing, is told nothing');
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid')
            ->> 'duplicate_confirmations')::int, 0,
  'the rollout gate counts no duplicate: the booking changed back has one confirmation');

-- 5. What the guest may have received is what the review queue and the rollout gates read. The booking is
--    changed while its confirmation is out (it goes back to be planned), the confirmation is dropped, and
--    the booking ends in review.
-- (A restaurant of its own, apart from the bookings above.)
select tests.create_restaurant('Queue') as rid5 \gset
select tests.add_table(:'rid5', 'Q1', 4) as q1_table \gset
select tests.create_booking(:'rid5', 2, '2030-02-10 19:00+00') as q \gset
select tests.force_state(:'q', 'confirmed');
select id as q1 from pg_temp.claimed(:'q', now()) \gset
update public.bookings set start_at = '2030-02-10 19:30+00' where id = :'q';
select count(*) as none from pg_temp.claimed(:'q', now() + interval '1 hour') \gset
select public.transition_assignment_state(:'q', 'manual_review', tests.version_of(:'q'),
  'no_table_fits: no free table or combination seats the party') ->> 'to' as reviewed \gset
select is(tests.message_statuses(:'q'), array['booking_confirmed superseded'], 'its confirmation was dropped');
select is((select guest_was_told from ops.manual_review_queue(:'rid5') where booking_id = :'q'),
  'booking_confirmed: 2030-02-10 19:00, party of 2', 'the review queue shows the confirmation that may have arrived');
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid5')
            ->> 'duplicate_confirmations')::int, 0, 'one confirmation is no duplicate');
insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, status, sent_at)
values (:'q', :'rid5', 'booking_confirmed', 2, :'q' || ':2', 'sent', now());
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid5')
            ->> 'duplicate_confirmations')::int, 1, 'a second one sent after it is');

select * from finish();
rollback;
