-- Guest messages are handed out soonest due first: a dispatcher that claims fewer than are due takes the ones
-- that have waited longest, so a backlog (after an outage, a provider that slowed down) never leaves an old
-- message behind newer ones for as long as new ones keep coming; and a claim asks for 1 to 500. Claimed as the
-- dispatcher claims them, through the Data API's role.
begin;
select plan(6);

select tests.create_restaurant('Backlog') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
-- Only this test's messages are owed.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');
select tests.confirmed_on(:'rid', 2, '2030-02-01 19:00+00', :'t1') as newest \gset
select tests.confirmed_on(:'rid', 2, '2030-02-01 19:00+00', :'t2') as oldest \gset
select tests.confirmed_on(:'rid', 2, '2030-02-01 19:00+00', :'t3') as middle \gset
select is((select count(*)::int from public.notification_outbox where restaurant_id = :'rid' and status = 'pending'), 3,
  'three confirmations are owed');
-- Due for a minute, an hour and a day: written in another order than they came due.
update public.notification_outbox set next_attempt_at = now() - case booking_id when :'oldest'::uuid then interval '1 day'
                                                                             when :'middle'::uuid then interval '1 hour'
                                                                             else interval '1 minute' end
 where restaurant_id = :'rid';

set local role service_role;
select is((select array_agg(booking_id) from public.notification_claim(1, 60000)), array[:'oldest'::uuid],
  'a claim of one takes the message due longest');
select is((select array_agg(booking_id) from public.notification_claim(1, 60000)), array[:'middle'::uuid], 'then the next');
select is((select array_agg(booking_id) from public.notification_claim(1, 60000)), array[:'newest'::uuid], 'then the last');
-- A claim asks for 1 to 500: none is a mistake, not an empty answer.
select throws_ok('select * from public.notification_claim(0, 60000)', 'AS005', 'limit must be between 1 and 500',
  'a claim of none is refused');
select throws_ok('select * from public.notification_claim(501, 60000)', 'AS005', 'limit must be between 1 and 500',
  'and one of more than 500');
reset role;

select * from finish();
rollback;
