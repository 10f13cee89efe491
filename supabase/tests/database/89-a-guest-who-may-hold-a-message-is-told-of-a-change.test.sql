-- A guest who may hold a message is told of a change as a change, and a retry of what they may hold keeps its key
-- (20261227180000). Results are reported as the dispatcher does, and bookings changed as the platform does,
-- through service_role.
begin;
select plan(12);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);

-- 1. The confirmation for 19:00 gets no answer from the mailer; before it is tried again the booking moves to
-- 20:00 and is confirmed again. The guest may hold "confirmed for 19:00": they are told of a change.
select tests.create_booking(:'rid', 2, '2031-04-07 19:00+00') as moved \gset
select tests.force_state(:'moved', 'confirmed');
select id as c1, lease_token as c1_lease from tests.claim_messages(:'moved') \gset
set local role service_role;
select is(public.notification_complete(:c1, :'c1_lease', false, 'webhook request failed: signal timed out',
                                       p_may_have_arrived => true), 'pending', 'the confirmation got no answer');
update public.bookings set start_at = '2031-04-07 20:00+00' where id = :'moved';
reset role;
select tests.force_state(:'moved', 'confirmed');
select is(tests.message_statuses(:'moved'), array['booking_confirmed superseded', 'booking_changed pending'],
  'confirmed again at 20:00, the guest who may hold 19:00 is owed a change, not a second confirmation');
select kind as moved_kind from tests.claim_messages(:'moved', now() + interval '1 hour') \gset
select is(:'moved_kind'::text, 'booking_changed', 'and the claim sends it as a change');

-- The same with an answered failure: the guest surely has nothing, so 20:00 is a confirmation.
select tests.create_booking(:'rid', 2, '2031-04-08 19:00+00') as refused \gset
select tests.force_state(:'refused', 'confirmed');
select id as r1, lease_token as r1_lease from tests.claim_messages(:'refused') \gset
set local role service_role;
select is(public.notification_complete(:r1, :'r1_lease', false, 'webhook answered 503'), 'pending',
  'a confirmation refused with an answer');
update public.bookings set start_at = '2031-04-08 20:00+00' where id = :'refused';
reset role;
select tests.force_state(:'refused', 'confirmed');
select is(tests.message_statuses(:'refused'), array['booking_confirmed superseded', 'booking_confirmed pending'],
  'reached nobody: the guest is confirmed for 20:00');

-- A cancellation that may have reached the guest, then the booking is confirmed again: told of a change too.
-- (A cancelled booking comes back only through the owner: the platform cannot undo a cancellation.)
select tests.create_booking(:'rid', 2, '2031-04-09 19:00+00') as back \gset
select tests.force_state(:'back', 'confirmed');
update public.notification_outbox set status = 'dead', dead_because = 'retries_exhausted', may_have_arrived = true
 where booking_id = :'back';
update public.bookings set start_at = '2031-04-09 19:30+00' where id = :'back';
select tests.force_state(:'back', 'confirmed');
select is(tests.message_statuses(:'back'), array['booking_confirmed dead', 'booking_changed pending'],
  'a confirmation that died perhaps received, then a new time: a change');

-- 2. The confirmation is out when the booking moves to 20:00; the change goes once the confirmation's lease runs
-- out and gets no answer. The confirmation's holder then reports a failure with an answer, which has the
-- guest's messages worked out again: the change that may have reached them goes again as it is, under its key.
select tests.create_booking(:'rid', 2, '2031-04-10 19:00+00') as late \gset
select tests.force_state(:'late', 'confirmed');
select id as l1, lease_token as l1_lease from tests.claim_messages(:'late') \gset
set local role service_role;
update public.bookings set start_at = '2031-04-10 20:00+00' where id = :'late';
reset role;
select tests.force_state(:'late', 'confirmed');
select id as l2, lease_token as l2_lease, kind as l2_kind
  from tests.claim_messages(:'late', now() + interval '61 seconds') \gset
select is(:'l2_kind'::text, 'booking_changed', 'the change goes out once the confirmation''s holder is silent');
select dedupe_key as l2_key from public.notification_outbox where id = :l2 \gset
set local role service_role;
select is(public.notification_complete(:l2, :'l2_lease', false, 'webhook request failed: signal timed out',
                                       p_may_have_arrived => true), 'pending', 'and gets no answer');
select is(public.notification_complete(:l1, :'l1_lease', false, 'webhook answered 503'), 'superseded',
  'the confirmation''s holder reports late that it was refused');
reset role;
select is(tests.message_statuses(:'late'), array['booking_confirmed superseded', 'booking_changed pending'],
  'the change the guest may hold is still the one owed');
select kind as again_kind, id as again from tests.claim_messages(:'late', now() + interval '1 hour') \gset
select is(array[:'again_kind'::text, (select dedupe_key from public.notification_outbox where id = :again)],
  array['booking_changed', :'l2_key'::text], 'tried again as it went, under its own key: a mailer that had it drops it');

-- A change worked out again with nothing new (a duplicate dispatch) leaves it so.
select private.tell_guest(b) from public.bookings b where b.id = :'late';
select is(tests.message_statuses(:'late'), array['booking_confirmed superseded', 'booking_changed sending'],
  'nothing more is owed');

select * from finish();
rollback;
