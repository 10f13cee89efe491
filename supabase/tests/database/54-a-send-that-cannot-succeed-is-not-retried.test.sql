-- A failure the sender calls permanent is dead at once; a dead message about a guest with no e-mail address
-- neither degrades health nor is queued again until the booking has one (20261221000000).
begin;
select plan(17);

-- Messages of this file only: everything else already waiting counts as sent, everything dead is resent.
update public.notification_outbox set status = 'sent', sent_at = now(), lease_expires_at = null, dead_because = null where status <> 'sent';

create function pg_temp.claim(p_booking uuid) returns table (id bigint, lease_token uuid)
language sql as $$
  select c.id, c.lease_token from public.notification_claim(100, 60000) c where c.booking_id = p_booking;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- 1. Refused for good: dead on its first try, through the Data API's role, and the event says why.
select tests.create_booking(:'rid', 2, '2030-02-07 19:00+00') as refused \gset
update public.bookings set customer_email = 'guest@example.com' where id = :'refused';
select tests.force_state(:'refused', 'confirmed');
set local role service_role;
select id as n, lease_token as lease from pg_temp.claim(:'refused') \gset
select is(public.notification_complete(p_id => :n, p_lease_token => :'lease', p_ok => false,
                                       p_error => 'webhook refused the message (422)', p_permanent => true),
  'dead', 'a permanent failure is dead at once, recorded by service_role');
reset role;
select is((select (attempts, last_error)::text from public.notification_outbox where id = :n),
  '(1,"webhook refused the message (422)")', 'after one try, with the sender''s reason');
select is((select (severity, context ->> 'permanent', context ->> 'dead')::text from public.observability_events
            where booking_id = :'refused' and event_type = 'notification.failed'),
  '(error,true,true)', 'its event is an error that says permanent');
select is(public.notification_complete(:n, :'lease', false, 'again', now(), true), 'dead',
  'recording it again changes nothing');

-- 2. Every call written for the old signature means what it did: a failure is retried.
select tests.create_booking(:'rid', 2, '2030-02-08 19:00+00') as flaky \gset
select tests.force_state(:'flaky', 'confirmed');
select id as f, lease_token as flease from pg_temp.claim(:'flaky') \gset
select is(public.notification_complete(:f, :'flease', false, 'smtp down'), 'pending', 'by position, retried');
select is((select context ->> 'permanent' from public.observability_events
            where booking_id = :'flaky' and event_type = 'notification.failed'), 'false', 'and its event says so');
update public.notification_outbox set status = 'sending' where id = :f;
set local role service_role;
select is(public.notification_complete(p_id => :f, p_lease_token => :'flease', p_ok => false, p_error => 'smtp down'),
  'pending', 'by name through the Data API''s role, retried');
select throws_ok(format('select public.notification_complete(%s, %L, true, null, now(), true)', :f, :'flease'),
  'AS005', 'p_permanent describes a failure: pass it with p_ok false', 'a success cannot be permanent');
select throws_ok(format('select public.notification_complete(%s, %L, false, null, now(), null)', :f, :'flease'),
  'AS005', 'p_permanent must be true or false', 'nor can permanence be left unknown');
select throws_ok(format('select private.notification_complete_unchecked(%s, %L, false, null, now(), true)', :f, :'flease'),
  '42501', null, 'the body in private is not the API''s to call');
reset role;

-- 3. No address: dead, not resendable, not a problem of health; resendable once the booking has one.
select tests.create_booking(:'rid', 2, '2030-02-09 19:00+00') as phoned \gset
select tests.force_state(:'phoned', 'confirmed');
select id as p, lease_token as plase from pg_temp.claim(:'phoned') \gset
select is(public.notification_complete(:p, :'plase', false, 'no e-mail address: the booking has none to send to',
                                       now(), true), 'dead', 'a guest without an address: dead at once');
select is(ops.health() -> 'notifications' -> 'dead_resendable', '0'::jsonb,
  'neither the refused message nor the one without an address is a standing alarm (20261221000000)');
select is(ops.resend_dead_messages('ana', 'mailer fixed', :'rid'), '{"queued": 1, "still_dead": 1}'::jsonb,
  'resending queues the refused one and leaves the one with no address dead');
select is((select array_agg(status order by booking_id = :'refused' desc) from public.notification_outbox
            where booking_id in (:'refused', :'phoned')), array['pending', 'dead'], 'as the outbox shows');
select is(ops.health() -> 'notifications' -> 'dead_resendable', '0'::jsonb, 'nothing is left to resend');
select ok(not (ops.health() -> 'problems' ? 'dead notifications about bookings still ahead: once the sender works, ops.resend_dead_messages queues them again'),
  'so health raises nothing for the guest with no address');
update public.bookings set customer_email = 'later@example.com' where id = :'phoned';
select is(ops.resend_dead_messages('ana', 'the guest gave an address', :'rid'), '{"queued": 1, "still_dead": 0}'::jsonb,
  'once the booking has an address its message is queued again');

select * from finish();
rollback;
