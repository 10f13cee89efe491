-- A confirmation that may have reached the guest goes again under its own key, never as a second one under a new
-- key (20261230040000). Its booking is planned again while the confirmation is out, a claim drops it as no
-- longer current, and the booking is confirmed again on the same terms. Results are reported as the dispatcher
-- does, through service_role.
begin;
select plan(11);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);

-- Confirmed, its confirmation claimed (out), the booking planned again, and a later claim, once that lease ran
-- out, drops the confirmation.
create function pg_temp.dropped_while_out(p_start timestamptz) returns table (booking uuid, message bigint, lease uuid)
language plpgsql as $$
declare
  b uuid := tests.create_booking(current_setting('tests.rid')::uuid, 2, p_start);
  c record;
begin
  perform tests.force_state(b, 'confirmed');
  select * into c from tests.claim_messages(b);
  perform tests.force_state(b, 'assignment_pending', 'a floor-plan change');
  perform tests.claim_messages(b, now() + interval '61 seconds');
  return query select b, c.id, c.lease_token;
end $$;
select set_config('tests.rid', :'rid', true) is not null as rid_set \gset

-- 1. The mailer took it and the report comes late: the confirmation is sent, and the booking confirmed again on
-- the same terms owes nothing.
select booking as late, message as l1, lease as l1_lease from pg_temp.dropped_while_out('2031-05-07 19:00+00') \gset
select is(tests.message_statuses(:'late'), array['booking_confirmed superseded'], 'dropped while out');
set local role service_role;
select is(public.notification_complete(:l1, :'l1_lease', true), 'sent', 'reported sent late: it is sent');
reset role;
select tests.force_state(:'late', 'confirmed');
select is(tests.message_statuses(:'late'), array['booking_confirmed sent'],
  'confirmed again on the same terms: the guest has it, nothing more is owed');

-- 2. No report ever comes: the confirmation goes again as it is, under its own key.
select booking as lost, message as m1 from pg_temp.dropped_while_out('2031-05-08 19:00+00') \gset
select dedupe_key as m1_key from public.notification_outbox where id = :m1 \gset
select tests.force_state(:'lost', 'confirmed');
select is(tests.message_statuses(:'lost'), array['booking_confirmed pending'],
  'confirmed again on the same terms: the dropped confirmation is owed again, not a second one');
select is((select array[o.kind, o.dedupe_key] from tests.claim_messages(:'lost', now() + interval '2 minutes') c
             join public.notification_outbox o using (id)),
  array['booking_confirmed', :'m1_key'::text], 'and claimed under its own key: a mailer that had it drops it');

-- 3. Confirmed again on other terms: the dropped confirmation no longer says the booking; the guest, who may
-- hold it, is told of a change under a new key.
select booking as moved, message as x1 from pg_temp.dropped_while_out('2031-05-09 19:00+00') \gset
set local role service_role;
update public.bookings set start_at = '2031-05-09 20:00+00' where id = :'moved';
reset role;
select tests.force_state(:'moved', 'confirmed');
select is(tests.message_statuses(:'moved'), array['booking_confirmed superseded', 'booking_changed pending'],
  'a new time: a change, as before');

-- 4. A later message that may have reached the guest says otherwise: the earlier one is not taken back, even
-- when the booking is back on its terms (the guest may hold the later one).
select booking as back, message as y1 from pg_temp.dropped_while_out('2031-05-10 19:00+00') \gset
set local role service_role;
update public.bookings set start_at = '2031-05-10 20:00+00' where id = :'back';
reset role;
select tests.force_state(:'back', 'confirmed');
select id as y2, lease_token as y2_lease from tests.claim_messages(:'back', now() + interval '2 minutes') \gset
set local role service_role;
select is(public.notification_complete(:y2, :'y2_lease', false, 'webhook request failed: signal timed out',
                                       p_may_have_arrived => true), 'pending', 'the change to 20:00 got no answer');
update public.bookings set start_at = '2031-05-10 19:00+00' where id = :'back';
reset role;
select tests.force_state(:'back', 'confirmed');
select is(tests.message_statuses(:'back'),
  array['booking_confirmed superseded', 'booking_changed superseded', 'booking_changed pending'],
  'back at 19:00: a change under a new key, the 19:00 confirmation not taken back');
select ok((select dedupe_key from public.notification_outbox where booking_id = :'back' and status = 'pending')
            <> all(array[(select dedupe_key from public.notification_outbox where id = :y1),
                         (select dedupe_key from public.notification_outbox where id = :y2)]),
  'its key is new');

-- 5. A later message died (the mailer refused the change): the earlier one is not taken back, since the dead one
-- would keep it from being current and it would never go; a new confirmation goes instead.
select booking as refused, message as z1 from pg_temp.dropped_while_out('2031-05-11 19:00+00') \gset
set local role service_role;
update public.bookings set start_at = '2031-05-11 20:00+00' where id = :'refused';
reset role;
select tests.force_state(:'refused', 'confirmed');
select id as z2, lease_token as z2_lease from tests.claim_messages(:'refused', now() + interval '2 minutes') \gset
set local role service_role;
select is(public.notification_complete(:z2, :'z2_lease', false, 'webhook answered 422', p_permanent => true), 'dead',
  'the change to 20:00 is refused for good');
update public.bookings set start_at = '2031-05-11 19:00+00' where id = :'refused';
reset role;
select tests.force_state(:'refused', 'confirmed');
select is((select array_agg(kind order by id) from tests.claim_messages(:'refused', now() + interval '3 minutes')),
  array['booking_confirmed'], 'back at 19:00: a confirmation goes out');

select * from finish();
rollback;
