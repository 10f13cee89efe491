-- A send that got no answer counts as perhaps received; failed messages come due spread out; a party that has
-- arrived or whose visit is over is not told of a cancellation (20261225000000).
begin;
select plan(28);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');


select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);

-- 1. The mailer took the confirmation but its answer never came (a timeout): reported as perhaps arrived, as
-- the dispatcher does through the Data API's role. The booking is then cancelled: the guest is told.
select tests.create_booking(:'rid', 2, '2030-03-07 19:00+00') as timed_out \gset
select tests.force_state(:'timed_out', 'confirmed');
select id as n, lease_token as lease from tests.claim_messages(:'timed_out') \gset
set local role service_role;
select is(public.notification_complete(:n, :'lease', false, 'webhook request failed: signal timed out',
                                       p_may_have_arrived => true),
  'pending', 'a send without an answer is retried');
select is(public.cancel_booking(:'timed_out', 'guest called') ->> 'to', 'cancelled', 'the platform cancels it');
reset role;
select is((select may_have_arrived from public.notification_outbox where id = :n), true,
  'the confirmation is kept as perhaps received');
select is(tests.message_statuses(:'timed_out'), array['booking_confirmed superseded', 'booking_cancelled pending'],
  'the confirmation is dropped and the cancellation is owed');
select is((select kind from tests.claim_messages(:'timed_out', now() + interval '1 day')), 'booking_cancelled',
  'and it is handed out: the guest may hold the confirmation');

-- The same with an answer (the mailer said 503: it took nothing): nothing is owed.
select tests.create_booking(:'rid', 2, '2030-03-08 19:00+00') as refused \gset
select tests.force_state(:'refused', 'confirmed');
select id as n, lease_token as lease from tests.claim_messages(:'refused') \gset
select is(public.notification_complete(:n, :'lease', false, 'webhook answered 503'), 'pending', 'an answered failure');
select public.cancel_booking(:'refused', 'guest called') is not null as cancelled \gset
select is(tests.message_statuses(:'refused'), array['booking_confirmed superseded'],
  'leaves the guest nothing to be told of a cancellation');

-- A late report on a message dropped while its send was out (its lease ran out, and the booking changed
-- meanwhile) keeps "perhaps" when it got no answer.
select tests.create_booking(:'rid', 2, '2030-03-09 19:00+00') as late \gset
select tests.force_state(:'late', 'confirmed');
select id as n, lease_token as lease from tests.claim_messages(:'late') \gset
update public.bookings set start_at = '2030-03-09 19:30+00' where id = :'late';
select tests.force_state(:'late', 'confirmed');
select count(*) as handed_out from tests.claim_messages(:'late', now() + interval '1 hour') \gset
select is(public.notification_complete(:n, :'lease', false, 'webhook request failed: connection reset',
                                       p_may_have_arrived => true),
  'superseded', 'the dropped confirmation''s sender reports it got no answer');
select is((select private.may_have_reached_guest(o) from public.notification_outbox o where id = :n), true,
  'it still counts as perhaps received');

-- A cancellation whose own send got no answer stays owed when the guest's messages are worked out again
-- (here as a late report of another message would).
select tests.create_booking(:'rid', 2, '2030-03-11 19:00+00') as again \gset
select tests.force_state(:'again', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'again';
select public.cancel_booking(:'again', 'guest called') is not null as cancelled \gset
select id as c, lease_token as c_lease from tests.claim_messages(:'again') \gset
select is(public.notification_complete(:c, :'c_lease', false, 'webhook answered 504', p_may_have_arrived => true),
  'pending', 'the cancellation got no answer');
select private.tell_guest(b) from public.bookings b where b.id = :'again';
select is(tests.message_statuses(:'again'), array['booking_confirmed sent', 'booking_cancelled pending'],
  'it stays owed when what the guest is owed is worked out again');

-- A holder whose lease ran out still records that its send may have arrived.
select tests.create_booking(:'rid', 2, '2030-03-12 19:00+00') as slow \gset
select tests.force_state(:'slow', 'confirmed');
select id as s, lease_token as first_lease from tests.claim_messages(:'slow') \gset
select count(*) as reclaimed from tests.claim_messages(:'slow', now() + interval '61 seconds') \gset
select is(public.notification_complete(:s, :'first_lease', false, 'webhook request failed: signal timed out',
                                       p_may_have_arrived => true),
  'lease_lost', 'the first holder reports after another claimed the message');
select is((select may_have_arrived from public.notification_outbox where id = :s), true,
  'and that its send may have arrived is kept');

-- What the flag describes is checked.
select throws_ok(format($$select public.notification_complete(%s, %L, true, null, p_may_have_arrived => true)$$,
                        :n, :'lease'), 'AS005', null, 'a success cannot be "perhaps arrived"');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_permanent => true,
                                                               p_may_have_arrived => true)$$, :n, :'lease'),
  'AS005', null, 'nor a refusal');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_may_have_arrived => null)$$,
                        :n, :'lease'), 'AS005', null, 'and it is true or false');

-- 2. Messages that fail together come due spread over their backoff, give or take a quarter.
create temporary table burst as
  select tests.create_booking(:'rid', 2, '2030-03-10 12:00+00'::timestamptz + i * interval '3 hours') as id
    from generate_series(1, 20) i;
select tests.force_state(id, 'confirmed') from burst;
create temporary table burst_claims as
  select c.id, c.lease_token from public.notification_claim(100, 60000) c join burst on burst.id = c.booking_id;
update public.notification_outbox set attempts = 5 where id in (select id from burst_claims);
select count(*) from (select public.notification_complete(id, lease_token, false, 'webhook answered 429',
                                                          '2030-01-01 00:00+00') from burst_claims) failed;
select is((select count(*)::int from public.notification_outbox o join burst on burst.id = o.booking_id
            where next_attempt_at between '2030-01-01 00:00:24+00' and '2030-01-01 00:00:40+00'),
  20, 'every one waits its backoff, give or take a quarter (32 s after a sixth failure)');
select cmp_ok((select count(distinct next_attempt_at)::int from public.notification_outbox o
                 join burst on burst.id = o.booking_id), '>=', 10, 'at different moments');

-- A provider that asks to wait (Retry-After) is tried no sooner, up to the longest wait, an hour.
select tests.create_booking(:'rid', 2, '2030-03-13 19:00+00') as limited \gset
select tests.force_state(:'limited', 'confirmed');
select id as l, lease_token as l_lease from tests.claim_messages(:'limited') \gset
set local role service_role;
select is(public.notification_complete(:l, :'l_lease', false, 'webhook answered 429', p_retry_after_ms => 600000),
  'pending', 'a rate-limited send is retried');
reset role;
select ok((select next_attempt_at - now() between interval '10 minutes' and interval '12 minutes 30 seconds'
             from public.notification_outbox where id = :l),
  'after the 10 minutes the provider asked for (up to a quarter more), not the backoff''s second');
select id as l, lease_token as l_lease from tests.claim_messages(:'limited', now() + interval '13 minutes') \gset
select public.notification_complete(:l, :'l_lease', false, 'webhook answered 429', now(), p_retry_after_ms => 86400000)
  as waited \gset
select is((select next_attempt_at - now() from public.notification_outbox where id = :l), interval '1 hour',
  'a day is cut to the longest wait, an hour');
select throws_ok(format($$select public.notification_complete(%s, %L, true, null, p_retry_after_ms => 1000)$$,
                        :l, :'l_lease'), 'AS005', null, 'a success asks for no wait');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_retry_after_ms => -1)$$,
                        :l, :'l_lease'), 'AS005', null, 'nor is a wait negative');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_retry_after_ms => 86400001)$$,
                        :l, :'l_lease'), 'AS005', null, 'nor longer than a day');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_permanent => true,
                                                               p_retry_after_ms => 1000)$$, :l, :'l_lease'),
  'AS005', null, 'nor does a refusal ask for one');

-- 3. A party that has arrived, or whose visit is over, is not told of a cancellation.
select tests.create_booking(:'rid', 2, '2030-03-20 19:00+00') as seated \gset
select tests.create_booking(:'rid', 2, '2030-03-21 19:00+00') as finished \gset
select tests.create_booking(:'rid', 2, '2030-03-22 19:00+00') as absent \gset
select tests.force_state(b, 'confirmed') from unnest(array[:'seated', :'finished', :'absent']::uuid[]) b;
update public.notification_outbox set status = 'sent', sent_at = now()
 where booking_id in (:'seated', :'finished', :'absent');
update public.bookings set status = 'checked_in' where id in (:'seated', :'finished', :'absent');
update public.bookings set status = 'completed' where id = :'finished';
update public.bookings set status = 'no_show' where id = :'absent';
set local role service_role;
select count(*) from (select public.cancel_booking(b, 'platform clean-up')
                        from unnest(array[:'seated', :'finished', :'absent']::uuid[]) b) cancelled;
reset role;
select is((select array_agg(status order by start_at) from public.bookings where id in (:'seated', :'finished', :'absent')),
  array['cancelled', 'cancelled', 'cancelled'], 'the platform cancels a seated, a finished and a no-show booking');
select is((select count(*)::int from public.notification_outbox
            where booking_id in (:'seated', :'finished', :'absent') and kind = 'booking_cancelled'),
  0, 'and none of those guests is told');
select tests.create_booking(:'rid', 2, '2030-03-23 19:00+00') as booked \gset
select tests.force_state(:'booked', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'booked';
select public.cancel_booking(:'booked', 'platform clean-up') is not null as cancelled \gset
select is(tests.message_statuses(:'booked'), array['booking_confirmed sent', 'booking_cancelled pending'],
  'while the guest of a booking still ahead is');

select * from finish();
rollback;
