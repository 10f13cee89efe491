-- A guest's message outlasts a sender's outage, can be queued again, and says what the guest needs to hear
-- given what they really received (20261209060000).
begin;
select plan(15);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

create function pg_temp.claim(p_booking uuid) returns table (id bigint, lease_token uuid, kind text, payload_kind text)
language sql as $$
  select c.id, c.lease_token, c.kind, c.payload ->> 'kind' from public.notification_claim(100, 60000) c
   where c.booking_id = p_booking;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- 1. Retried for hours, not minutes.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as down \gset
select tests.force_state(:'down', 'confirmed');
select id as n, lease_token as lease from pg_temp.claim(:'down') \gset
update public.notification_outbox set attempts = 8 where id = :n;
select is(public.notification_complete(:n, :'lease', false, 'smtp down'), 'pending', 'a ninth failure is retried');
select ok((select next_attempt_at between now() + interval '192 seconds' and now() + interval '320 seconds'
             from public.notification_outbox where id = :n), 'after 256 s, give or take a quarter');
update public.notification_outbox set status = 'sending', attempts = 12 where id = :n;
select is(public.notification_complete(:n, :'lease', false, 'smtp down'), 'pending', 'the thirteenth too');
select ok((select next_attempt_at between now() + interval '45 minutes' and now() + interval '75 minutes'
             from public.notification_outbox where id = :n),
  'after an hour, give or take a quarter, the longest wait');
update public.notification_outbox set status = 'sending', attempts = 16 where id = :n;
select is(public.notification_complete(:n, :'lease', false, 'smtp down'), 'dead', 'dead after 16 tries');

-- 2. Queued again once the sender works, when it still describes its booking.
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as gone \gset
select tests.force_state(:'gone', 'confirmed');
update public.notification_outbox set status = 'dead', attempts = 16 where booking_id = :'gone';
select public.cancel_booking(:'gone', 'guest called') is not null as cancelled \gset
update public.notification_outbox set status = 'dead' where booking_id = :'gone';
select tests.create_booking(:'rid', 2, date_trunc('hour', now()) - interval '2 hours') as past \gset
select tests.force_state(:'past', 'confirmed');
update public.notification_outbox set status = 'dead', attempts = 16 where booking_id = :'past';
-- Each has an address: what keeps the others dead is their booking (20261221000000 also asks for one).
update public.bookings set customer_email = 'guest@example.com' where id in (:'down', :'gone', :'past');
select is(ops.resend_dead_messages('ana@example.com', 'mail provider back', :'rid'), '{"queued": 1, "still_dead": 2}'::jsonb,
  'the confirmation still true is queued; the cancelled booking''s and the past booking''s stay dead');
select is((select array[actor, reason, new_value ->> 'queued'] from ops.rollout_log where setting = 'dead_messages' and scope = :'rid'),
  array['[email]', 'mail provider back', '1'], 'who did it and why is in the rollout log, scrubbed');
select is((select (status, attempts, next_attempt_at <= now())::text from public.notification_outbox where id = :n),
  '(pending,0,t)', 'due now, its tries counted afresh');
select throws_ok($$select ops.resend_dead_messages('ana', ' ')$$, 'AS005', null, 'a reason is required');

-- 3. A change while the confirmation was on its way, and that confirmation failed: the guest received
--    nothing, so the next message confirms.
select tests.create_booking(:'rid', 2, '2030-01-09 19:00+00') as changed \gset
select tests.force_state(:'changed', 'confirmed');
select id as c1, lease_token as l1 from pg_temp.claim(:'changed') \gset
update public.bookings set start_at = '2030-01-09 19:30+00' where id = :'changed';
select tests.force_state(:'changed', 'confirmed');
select is(tests.message_statuses(:'changed'), array['booking_confirmed sending', 'booking_changed pending'],
  'queued as a change, the confirmation being on its way');
select is(public.notification_complete(:c1, :'l1', false, 'smtp down'), 'pending', 'then the confirmation fails');
select is((select array[kind, payload_kind] from pg_temp.claim(:'changed')), array['booking_confirmed', 'booking_confirmed'],
  'so the change goes out as the confirmation, in its payload too');
select count(*) as reclaimed from public.notification_claim(100, 60000, now() + interval '1 hour') c where c.booking_id = :'changed' \gset
select is(tests.message_statuses(:'changed'), array['booking_confirmed superseded', 'booking_confirmed sending'],
  'and the failed one, due again, is not sent after it');

-- 4. A cancellation while the confirmation was on its way, and that confirmation failed: nothing to tell.
select tests.create_booking(:'rid', 2, '2030-01-10 19:00+00') as never \gset
select tests.force_state(:'never', 'confirmed');
select id as c2, lease_token as l2 from pg_temp.claim(:'never') \gset
select public.cancel_booking(:'never', 'guest called') is not null as cancelled \gset
select public.notification_complete(:c2, :'l2', false, 'smtp down') as failed \gset
select is((select count(*)::int from pg_temp.claim(:'never')), 0, 'a guest who received nothing is not told of a cancellation');

-- 5. A change while the confirmation was on its way, and its sender never reported back (it crashed): the
--    confirmation may have arrived, so the change is worded as a change, and no guest is confirmed twice.
select tests.create_booking(:'rid', 2, '2030-01-11 19:00+00') as crashed \gset
select tests.force_state(:'crashed', 'confirmed');
select id as c3 from pg_temp.claim(:'crashed') \gset
update public.bookings set start_at = '2030-01-11 19:30+00' where id = :'crashed';
select tests.force_state(:'crashed', 'confirmed');
select is((select array_agg(c.kind) from public.notification_claim(100, 60000, now() + interval '1 hour') c
            where c.booking_id = :'crashed'), array['booking_changed'],
  'once the lease runs out, the change goes out as a change');

select * from finish();
rollback;
