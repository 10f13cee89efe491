-- What a guest may hold outlives a report that never came, a report that came late and a delete
-- (20261227060000). Results are reported as the dispatcher does, through service_role.
begin;
select plan(37);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

create function pg_temp.flag(p_id bigint) returns boolean language sql as $$
  select may_have_arrived from public.notification_outbox where id = p_id;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);

-- 1. The first holder posted the confirmation and never reported (its isolate was killed). Another claims it
-- once the lease runs out and gets an answered failure. The booking is then cancelled: the guest is told.
select tests.create_booking(:'rid', 2, '2031-03-07 19:00+00') as silent \gset
select tests.force_state(:'silent', 'confirmed');
select id as n from tests.claim_messages(:'silent') \gset
select lease_token as second_lease from tests.claim_messages(:'silent', now() + interval '61 seconds') \gset
select is(pg_temp.flag(:n), true, 'a message taken back from a holder that never reported counts as perhaps received');
set local role service_role;
select is(public.notification_complete(:n, :'second_lease', false, 'webhook answered 503'), 'pending',
  'the second send is refused with an answer');
select public.cancel_booking(:'silent', 'guest called') is not null as cancelled \gset
reset role;
select is(pg_temp.flag(:n), true, 'which does not undo what the first send may have done');
select is(tests.message_statuses(:'silent'), array['booking_confirmed superseded', 'booking_cancelled pending'],
  'so the guest is owed the cancellation');

-- 2. The first holder's success comes late, after a second send was refused: the message is sent.
select tests.create_booking(:'rid', 2, '2031-03-08 19:00+00') as late_ok \gset
select tests.force_state(:'late_ok', 'confirmed');
select id as n, lease_token as first_lease from tests.claim_messages(:'late_ok') \gset
select lease_token as second_lease from tests.claim_messages(:'late_ok', now() + interval '61 seconds') \gset
set local role service_role;
select is(public.notification_complete(:n, :'second_lease', false, 'webhook answered 503'), 'pending',
  'the second holder is refused');
select is(public.notification_complete(:n, :'first_lease', true), 'lease_lost', 'the first reports its success late');
reset role;
select is(tests.message_statuses(:'late_ok'), array['booking_confirmed sent'], 'and the message is sent, not tried again');
select is((select count(*)::int from tests.claim_messages(:'late_ok', now() + interval '1 day')), 0,
  'nothing of it is handed out again');

-- While the second send is still out, a late success marks it perhaps received; the holder still reports.
select tests.create_booking(:'rid', 2, '2031-03-09 19:00+00') as both_out \gset
select tests.force_state(:'both_out', 'confirmed');
select id as n, lease_token as first_lease from tests.claim_messages(:'both_out') \gset
update public.notification_outbox set may_have_arrived = false where id = :n;
select lease_token as second_lease from tests.claim_messages(:'both_out', now() + interval '61 seconds') \gset
update public.notification_outbox set may_have_arrived = false where id = :n;
set local role service_role;
select is(public.notification_complete(:n, :'first_lease', true), 'lease_lost', 'a late success with another send out');
reset role;
select is(array[pg_temp.flag(:n)::text, (select status from public.notification_outbox where id = :n)],
  array['true', 'sending'], 'counts as perhaps received, and the current holder keeps it');

-- 3. A change whose send got no answer, then the booking changes back: the guest, who may hold the change,
-- is told again.
select tests.create_booking(:'rid', 2, '2031-03-10 19:00+00') as back \gset
select tests.force_state(:'back', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'back';
update public.bookings set start_at = '2031-03-10 20:00+00' where id = :'back';
select tests.force_state(:'back', 'confirmed');
select id as c, lease_token as c_lease, kind as change_kind from tests.claim_messages(:'back') \gset
select is(:'change_kind'::text, 'booking_changed', 'the change to 20:00 is sent');
set local role service_role;
select is(public.notification_complete(:c, :'c_lease', false, 'webhook request failed: signal timed out',
                                       p_may_have_arrived => true), 'pending', 'and gets no answer');
update public.bookings set start_at = '2031-03-10 19:00+00' where id = :'back';
reset role;
select tests.force_state(:'back', 'confirmed');
select is(tests.message_statuses(:'back'),
  array['booking_confirmed sent', 'booking_changed superseded', 'booking_changed pending'],
  'back at 19:00, the guest who may hold "changed to 20:00" is owed a change');
select is((select payload ->> 'start_at' from public.notification_outbox where booking_id = :'back' and status = 'pending')::timestamptz,
  '2031-03-10 19:00+00'::timestamptz, 'saying 19:00');
select private.tell_guest(b) from public.bookings b where b.id = :'back';
select is(tests.message_statuses(:'back'),
  array['booking_confirmed sent', 'booking_changed superseded', 'booking_changed pending'],
  'worked out again (a duplicate dispatch), nothing more is owed');
select tests.create_booking(:'rid', 2, '2031-03-16 19:00+00') as same \gset
select tests.force_state(:'same', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'same';
select private.tell_guest(b) from public.bookings b where b.id = :'same';
select is(tests.message_statuses(:'same'), array['booking_confirmed sent'],
  'a guest whose messages all say the booking is owed nothing');

-- A message dropped while its send was out and then handed back unposted did not arrive: the guest is told
-- what they are owed again.
select tests.create_booking(:'rid', 2, '2031-03-17 19:00+00') as dropped \gset
select tests.force_state(:'dropped', 'confirmed');
select id as d, lease_token as d_lease from tests.claim_messages(:'dropped') \gset
update public.bookings set start_at = '2031-03-17 19:30+00' where id = :'dropped';
select tests.force_state(:'dropped', 'confirmed');
select count(*) as handed_out from tests.claim_messages(:'dropped', now() + interval '1 hour') \gset
set local role service_role;
select is(public.notification_complete(:d, :'d_lease', false, 'not sent: the run ran out of time', p_not_sent => true),
  'superseded', 'a message dropped while out is handed back unposted');
reset role;
select is((select lease_expires_at from public.notification_outbox where id = :d), null,
  'it no longer counts as perhaps received');

-- 4. A message a claim never posted is handed back: no try counted, due at once or when the provider asked.
select tests.create_booking(:'rid', 2, '2031-03-11 19:00+00') as unsent \gset
select tests.force_state(:'unsent', 'confirmed');
select id as u, lease_token as u_lease from tests.claim_messages(:'unsent') \gset
set local role service_role;
select is(public.notification_complete(:u, :'u_lease', false, 'the run ran out of time', p_not_sent => true),
  'pending', 'a message the run had no time to post is handed back');
reset role;
select is((select attempts from public.notification_outbox where id = :u), 0, 'without a try counted');
select id as u, lease_token as u_lease from tests.claim_messages(:'unsent') \gset
select is((select status from public.notification_outbox where id = :u), 'sending', 'and it is due at once');
set local role service_role;
select is(public.notification_complete(:u, :'u_lease', false, 'not sent: webhook answered 429', p_not_sent => true,
                                       p_retry_after_ms => 600000), 'pending', 'one the provider asked to wait for');
reset role;
select is(array[(select attempts from public.notification_outbox where id = :u),
                (select count(*)::int from tests.claim_messages(:'unsent', now() + interval '9 minutes'))],
  array[0, 0], 'counts no try either, and waits as long as asked');
select is((select count(*)::int from tests.claim_messages(:'unsent', now() + interval '13 minutes')), 1, 'then goes');
select throws_ok(format($$select public.notification_complete(%s, %L, true, null, p_not_sent => true)$$, :u, :'u_lease'),
  'AS005', null, 'a success was posted');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_not_sent => true,
                                                               p_may_have_arrived => true)$$, :u, :'u_lease'),
  'AS005', null, 'and so was a send without an answer');
select throws_ok(format($$select public.notification_complete(%s, %L, false, 'x', p_not_sent => null)$$, :u, :'u_lease'),
  'AS005', null, 'p_not_sent is true or false');

-- 5. A message whose holders never report is not taken back forever: after its tries it is dead.
select tests.create_booking(:'rid', 2, '2031-03-12 19:00+00') as crashing \gset
select tests.force_state(:'crashing', 'confirmed');
select id as x, lease_token as x_lease from tests.claim_messages(:'crashing') \gset
update public.notification_outbox set attempts = private.message_max_attempts() where id = :x;
select is((select count(*)::int from tests.claim_messages(:'crashing', now() + interval '61 seconds')), 0,
  'its last try unreported, it is not handed out again');
select is((select array[status, dead_because, may_have_arrived::text] from public.notification_outbox where id = :x),
  array['dead', 'retries_exhausted', 'true'], 'it is dead, retries exhausted, and perhaps received');
select is((select context ->> 'unreported' from public.observability_events
            where booking_id = :'crashing' and event_type = 'notification.failed'), 'true',
  'recorded as a failure nobody reported');
set local role service_role;
select is(public.notification_complete(:x, :'x_lease', true), 'lease_lost', 'its holder''s success comes after all');
reset role;
select is((select status from public.notification_outbox where id = :x), 'sent', 'and the message is sent, not dead');

-- 6. A message still due once the visit is over is dropped, not sent.
select tests.create_booking(:'rid', 2, '2031-03-14 19:00+00') as over \gset
select tests.force_state(:'over', 'confirmed');
select is((select count(*)::int from tests.claim_messages(:'over', '2031-03-15 01:00+00')), 0,
  'a confirmation still waiting once the visit is over is not handed out');
select is((select status from public.notification_outbox where booking_id = :'over'), 'superseded', 'but dropped');
select is((select context ->> 'kind' from public.observability_events
            where booking_id = :'over' and event_type = 'notification.expired'), 'booking_confirmed',
  'and recorded as expired');

-- 7. A cancelled booking whose guest is still being told cannot be deleted until the cancellation has gone.
select tests.create_booking(:'rid', 2, '2031-03-13 19:00+00') as erased \gset
select tests.force_state(:'erased', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'erased';
set local role service_role;
select public.cancel_booking(:'erased', 'guest asked to be forgotten') is not null as cancelled \gset
select throws_like(format('delete from public.bookings where id = %L', :'erased'),
  '%still being told%', 'while the cancellation waits to go out, the booking cannot be deleted (AS001)');
reset role;
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'erased';
set local role service_role;
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'erased')), null,
  'once it has gone, it can');
reset role;

select * from finish();
rollback;
