-- A booking whose time, stay or party changes while it waits in manual review is planned again
-- (20261227210000). The platform's writes go through the Data API, so they run here as service_role.
begin;
select plan(13);

select tests.create_restaurant('Changed in review') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

create function pg_temp.last_step(p_booking uuid) returns text language sql as $$
  select h.to_state || ': ' || h.reason from public.booking_assignment_state_history h
   where h.booking_id = p_booking order by h.version desc limit 1;
$$;

-- 1. A party of 8 no table fits, in review; the guest cuts it to 2.
select tests.create_booking(:'rid', 8, '2030-09-02 19:00+00') as cut \gset
select tests.force_state(:'cut', 'manual_review', 'no_table_fits: no free table or combination seats a party of 8');
update public.bookings set attempt_count = 3, dispatch_count = 2 where id = :'cut';
select count(*) as nudges_before from net.http_request_queue \gset
set local role service_role;
update public.bookings set party_size = 2 where id = :'cut';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'cut'),
  array['assignment_pending', 'pending'], 'a party changed in review is planned again');
select is(pg_temp.last_step(:'cut'), 'assignment_pending: booking_changed: time, party size or buffers changed while in manual review',
  'the history says why');
select is((select array[attempt_count, dispatch_count] from public.bookings where id = :'cut'), array[0, 0],
  'its attempts counted afresh');
select ok((select count(*) from net.http_request_queue) > :nudges_before, 'and the function is nudged at once');
select is((select manual_review_reason from public.bookings where id = :'cut'), null,
  'the reason about a party of 8 is gone');
select ok(not exists (select 1 from ops.manual_review_queue(:'rid') q where q.booking_id = :'cut'),
  'and it has left the queue');

-- 2. A new time, likewise.
select tests.create_booking(:'rid', 2, '2030-09-03 19:00+00') as moved \gset
select tests.force_state(:'moved', 'manual_review', 'outside_service_hours: test');
set local role service_role;
update public.bookings set start_at = '2030-09-03 20:00+00', end_at = '2030-09-03 21:30+00' where id = :'moved';
reset role;
select is((select assignment_state from public.bookings where id = :'moved'), 'assignment_pending',
  'a time changed in review is planned again');

-- 3. Left in review: a change that is no change, a change of what seating does not read, and a visit whose
-- start has passed.
select tests.create_booking(:'rid', 2, '2030-09-04 19:00+00') as same \gset
select tests.force_state(:'same', 'manual_review', 'no_table_fits: test');
set local role service_role;
update public.bookings set party_size = 2, notes = 'window seat' where id = :'same';
reset role;
select is((select assignment_state from public.bookings where id = :'same'), 'manual_review',
  'the same party and a note leave it in review');
select tests.create_booking(:'rid', 2, now() + interval '1 hour') as started \gset
select tests.force_state(:'started', 'manual_review', 'no_table_fits: test');
set local role service_role;
update public.bookings set start_at = now() - interval '10 minutes', end_at = now() + interval '80 minutes'
 where id = :'started';
reset role;
select is((select assignment_state from public.bookings where id = :'started'), 'manual_review',
  'a visit whose start has passed stays for an operator');

-- A review for another cause is an operator's to settle: the platform's own words, or an outage's.
select tests.create_booking(:'rid', 4, '2030-09-07 19:00+00') as call_first \gset
select tests.force_state(:'call_first', 'manual_review', 'allergy: call the guest before seating');
select tests.create_booking(:'rid', 2, '2030-09-08 19:00+00') as outage \gset
select tests.force_state(:'outage', 'manual_review', 'coordinator_unreachable: test');
set local role service_role;
update public.bookings set party_size = 3 where id in (:'call_first', :'outage');
reset role;
select is((select array_agg(assignment_state order by start_at) from public.bookings where id in (:'call_first', :'outage')),
  array['manual_review', 'manual_review'], 'a review the platform asked for, or an outage''s, stays when the party changes');

-- 4. An operator's own change through an ops call: accepting an alternative moves the booking, then seats it.
select tests.create_booking(:'rid', 4, '2030-09-05 19:00+00') as taker \gset
select tests.confirmed_on(:'rid', 2, '2030-09-05 20:00+00', :'t1') as holder \gset
select tests.force_state(:'taker', 'manual_review', 'no_table_fits: no free table or combination seats a party of 4');
set local role service_role;
select is(ops.accept_alternative(:'taker', (select (a ->> 'start_at')::timestamptz
                                              from ops.manual_review_queue(:'rid') q, jsonb_array_elements(q.alternatives) a
                                             where q.booking_id = :'taker' limit 1), 'ana') ->> 'outcome',
  'confirmed', 'an accepted alternative is seated at its new time, not sent to be planned');
reset role;
select is((select assignment_state from public.bookings where id = :'taker'), 'confirmed', 'and stays confirmed');

-- 5. A cancelled booking in review is cancelled, not planned.
select tests.create_booking(:'rid', 2, '2030-09-06 19:00+00') as gone \gset
select tests.force_state(:'gone', 'manual_review', 'no_table_fits: test');
set local role service_role;
select public.cancel_booking(:'gone', 'guest called') is not null as cancelled \gset
reset role;
select is((select assignment_state from public.bookings where id = :'gone'), 'cancelled', 'a cancellation is one');

select * from finish();
rollback;
