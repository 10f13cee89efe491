begin;
select plan(17);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');
select tests.force_state(:'b', 'confirmed');

create temporary table claims (name text primary key, lease_token uuid);
insert into claims select 'first', c.lease_token from public.notification_claim(10, 60000) c where c.booking_id = :'b';
select is((select count(*)::int from claims), 1, 'a due notification is claimed');
select isnt((select lease_token from claims where name = 'first'), null, 'with a lease token for its result');
select is((select count(*)::int from public.notification_claim(10, 60000) where booking_id = :'b'), 0,
  'a claimed notification is not handed out twice while its lease runs');

-- The first dispatcher stalls past its lease; a second one claims the row again and sends it.
insert into claims select 'second', c.lease_token
  from public.notification_claim(10, 60000, now() + interval '61 seconds') c where c.booking_id = :'b';
select is((select count(*)::int from claims where name = 'second'), 1,
  'after the lease expires (the sender crashed) it can be claimed again');
select isnt((select lease_token from claims where name = 'second'), (select lease_token from claims where name = 'first'),
  'under a new lease token');
select id as n from public.notification_outbox where booking_id = :'b' \gset
select is(public.notification_complete(:n, (select lease_token from claims where name = 'first'), false, 'timeout'),
  'lease_lost', 'the stalled dispatcher cannot record a result for a row someone else holds now');
select is((select status from public.notification_outbox where id = :n), 'sending', 'so the row is still being sent');
select is(public.notification_complete(:n, (select lease_token from claims where name = 'first'), true),
  'lease_lost', 'nor record a success for it');
select is((select count(*)::int from public.observability_events where booking_id = :'b' and event_type = 'notification.lease_lost'),
  2, 'each refused result is recorded');
select throws_ok(format('select public.notification_complete(%s, null, true)', :n), 'AS005', null,
  'a result without a lease token is refused');

\set second '(select lease_token from claims where name = ''second'')'
select is(public.notification_complete(:n, :second, false, 'smtp down for ada@example.com'), 'pending',
  'the current holder''s failed send is retried');
select ok((select next_attempt_at > now() from public.notification_outbox where id = :n), 'after a backoff');
select is((select last_error from public.notification_outbox where id = :n), 'smtp down for [email]',
  'and the error is kept without personal data');
update public.notification_outbox set status = 'sending', attempts = 16 where id = :n;
select is(public.notification_complete(:n, :second, false, 'still down'), 'dead', 'after 16 tries it is dead, for an operator to see');
update public.notification_outbox set status = 'sending', dead_because = null where id = :n;
select is(public.notification_complete(:n, :second, true), 'sent', 'a success is recorded');
select is(public.notification_complete(:n, :second, true), 'sent', 'recording it twice changes nothing');
select throws_ok(format('select public.notification_complete(-1, %L, true)', gen_random_uuid()), 'AS005', null,
  'an unknown notification is an error');

select * from finish();
rollback;
