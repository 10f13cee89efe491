-- A guest told of a change hears nothing more when the booking is confirmed again as it is (private.tell_guest):
-- what the guest has heard is the last message sent, not the first. A booking confirmed at 19:00 and moved to
-- 19:30 has two messages sent; an operator seating it on other tables at 19:30 confirms it again, and the
-- guest, whose last message says 19:30, is not written to. Read against the first message (19:00), the
-- re-confirmation would look like a change and send a second "changed to 19:30".
begin;
select plan(3);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');
create function pg_temp.deliver(p_booking uuid) returns integer language sql as $$
  select count(public.notification_complete(c.id, c.lease_token, true))::integer
    from tests.claim_messages(p_booking) c;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as guest \gset
select tests.force_state(:'guest', 'confirmed');
select pg_temp.deliver(:'guest');
set local role service_role;
update public.bookings set start_at = '2030-01-07 19:30+00' where id = :'guest';
reset role;
select tests.force_state(:'guest', 'confirmed');
select pg_temp.deliver(:'guest');
select is(tests.message_statuses(:'guest'), array['booking_confirmed sent', 'booking_changed sent'],
  'the guest heard of the booking and of its move to 19:30');

-- Seated by an operator (through the Data API's role, as the platform's move was) on T1 (confirming gave it a
-- table of its own) at the same time: confirmed again, and nothing the guest sees changed.
set local role service_role;
select ops.assign_tables(:'guest', array['T1'], 'ana', 'a table by the window') ->> 'outcome' as outcome \gset
reset role;
select is(:'outcome'::text, 'confirmed', 'the booking is confirmed again on the other table');
select is(tests.message_statuses(:'guest'), array['booking_confirmed sent', 'booking_changed sent'],
  'and the guest is not written to again');

select * from finish();
rollback;
