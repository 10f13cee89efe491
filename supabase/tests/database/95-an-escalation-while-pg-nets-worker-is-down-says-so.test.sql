-- A booking the sweeper escalates while pg_net's worker is down says so (20261228020000): its nudges were
-- queued but never sent, so the functions' logs the old reason pointed at hold nothing.
begin;
select plan(4);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'N1', 4) is not null as tabled \gset
select tests.create_booking(:'rid', 2, '2030-11-06 19:00+00') as bid \gset
-- Dispatched as often as it may be, due again, and no attempt ever began.
update public.bookings set next_attempt_at = now() - interval '1 second',
       dispatch_count = (private.settings_for(null)).max_dispatches where id = :'bid';

savepoint worker_down;
-- pg_net's worker gone, as net.check_worker_is_up() answers then.
create or replace function net.check_worker_is_up() returns void language plpgsql as $$
begin
  raise exception 'the pg_net background worker is not up';
end $$;
select private.sweep(now() + interval '1 minute') is not null as swept \gset
select manual_review_reason as reason_down from public.bookings where id = :'bid' \gset
select e.context ->> 'pg_net_worker_up' as worker_flag from public.observability_events e
 where e.booking_id = :'bid' and e.context ? 'pg_net_worker_up' \gset
rollback to savepoint worker_down;

select private.sweep(now() + interval '1 minute') is not null as swept \gset
select manual_review_reason as reason_up from public.bookings where id = :'bid' \gset

select alike(:'reason_down'::text,
  'coordinator_unreachable: dispatched 12 times since % without an attempt beginning (pg_net''s worker is down, so the nudges have not gone out: select net.worker_restart(), then retry the bookings)',
  'with pg_net''s worker down, the reason names it and what to do');
select is(:'worker_flag'::text, 'false', 'and the escalation event says the worker was down');
select alike(:'reason_up'::text,
  'coordinator_unreachable: dispatched 12 times since % without an attempt beginning (the coordinator did not answer, or its assignment_begin failed: see the functions'' logs)',
  'with the worker up, the reason points at the functions');
select is((select e.context ->> 'pg_net_worker_up' from public.observability_events e
            where e.booking_id = :'bid' and e.context ? 'pg_net_worker_up'), 'true',
  'and the event says the worker was up');

select * from finish();
rollback;
