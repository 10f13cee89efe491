begin;
select plan(10);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');
select private.enqueue_confirmation(x, true) from public.bookings x where x.id = :'b';

select is((select count(*)::int from public.notification_claim(10, 60000) where booking_id = :'b'), 1,
  'a due notification is claimed');
select is((select count(*)::int from public.notification_claim(10, 60000) where booking_id = :'b'), 0,
  'a claimed notification is not handed out twice while its lease runs');
select is((select count(*)::int from public.notification_claim(10, 60000, now() + interval '61 seconds') where booking_id = :'b'), 1,
  'after the lease expires (the sender crashed) it can be claimed again');

select id as n from public.notification_outbox where booking_id = :'b' \gset
select is(public.notification_complete(:n, false, 'smtp down for ada@example.com'), 'pending', 'a failed send is retried');
select ok((select next_attempt_at > now() from public.notification_outbox where id = :n), 'after a backoff');
select is((select last_error from public.notification_outbox where id = :n), 'smtp down for [email]',
  'and the error is kept without personal data');
update public.notification_outbox set status = 'sending', attempts = 8 where id = :n;
select is(public.notification_complete(:n, false, 'still down'), 'dead', 'after 8 tries it is dead, for an operator to see');
update public.notification_outbox set status = 'sending' where id = :n;
select is(public.notification_complete(:n, true), 'sent', 'a success is recorded');
select is(public.notification_complete(:n, true), 'sent', 'recording it twice changes nothing');
select throws_ok('select public.notification_complete(-1, true)', 'AS005', null, 'an unknown notification is an error');

select * from finish();
rollback;
