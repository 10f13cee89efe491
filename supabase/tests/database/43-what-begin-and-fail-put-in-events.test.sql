-- assignment_begin refuses a trigger that is not a code, and assignment_fail stores a long reason without
-- leaving half a time stamp that reads as a phone number (20261210190000). The calls run as service_role,
-- as a Data API client's would.
begin;
select plan(5);

select tests.create_restaurant('Checked calls') as rid \gset
select tests.add_table(:'rid', 'K1', 4) as k1 \gset
select tests.create_booking(:'rid', 2, '2031-02-03 19:00+00') as booking \gset

set local role service_role;
select throws_ok(format($$select public.assignment_begin(%L, 'Maria Garcia called')$$, :'booking'),
  'AS005', null, 'a trigger is a code, not words');
select throws_ok(format($$select public.assignment_begin(%L, null)$$, :'booking'), 'AS005', null, 'and is given');

select (public.assignment_begin(:'booking', 'dispatch')) ->> 'lease_token' as lease \gset
-- 492 characters of words, then a time stamp across the 500th.
select repeat('x ', 246) || '20261202T153000Z and what followed' as reason \gset
select lives_ok(format($$select public.assignment_fail(%L, %L, 'error', %L)$$, :'booking', :'lease', :'reason'),
  'a long reason ends the attempt');
select is((select assignment_state from public.bookings where id = :'booking'), 'assignment_pending',
  'the booking waits for its next attempt');
select ok((select context ->> 'message' from public.observability_events
            where booking_id = :'booking' and event_type = 'coordinator.error') !~ '[0-9]{8}$',
  'and the event''s message was not cut inside the time stamp');

reset role;
select * from finish();
rollback;
