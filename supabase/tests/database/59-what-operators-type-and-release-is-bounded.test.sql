-- What an operator types is stored at a bounded length, and one release of stuck bookings takes at most 1000
-- (20261223000000).
begin;
select plan(13);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- 1. Who acted and why, however long, as every ops call records them.
select ops.resend_dead_messages(repeat('ana ', 5000), repeat('the mailer is back ', 50000), :'rid') is not null as resent \gset
select is((select array[length(actor) <= 200, length(reason) <= 500, reason like 'the mailer is back%']
             from public.pipeline_settings_audit where setting = 'dead_messages' and scope = :'rid'),
  array[true, true, true], 'the settings audit keeps at most 200 characters of who and 500 of why');
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now())
on conflict (restaurant_id) do update set state = 'open', consecutive_failures = 5, opened_at = now();
select ops.reset_circuit_breaker(:'rid', repeat('x', 100000), repeat('fixed ', 1000)) is not null as reset \gset
select is((select array[length(actor), length(reason) <= 500]::text[]
             from public.pipeline_settings_audit where setting = 'circuit_breaker' and scope = :'rid'),
  array['200', 'true'], 'also when a call writes the audit itself: a word longer than the limit is cut inside');
select is(private.act_as('ana@example.com ' || repeat('ana ', 100)), '[email] ' || rtrim(repeat('ana ', 48)),
  'who acted is scrubbed and cut before the word that would be split');
select tests.create_booking(:'rid', 2, '2030-03-07 19:00+00') as b \gset
select ops.assign_tables(:'b', array['T1'], repeat('desk ', 100)) ->> 'outcome' as assigned \gset
select ok((select length(assigned_by) <= 200 from public.booking_table_assignments where booking_id = :'b'),
  'as is who placed the tables');
select ok((select bool_and(length(actor) <= 200) from public.booking_assignment_state_history where booking_id = :'b'),
  'and who changed the booking, in its history');
select tests.create_booking(:'rid', 2, '2030-03-07 21:00+00') as c \gset
set local role service_role; -- as the platform calls it through the Data API
select public.cancel_booking(:'c', 'cancelled: ' || repeat('the guest called to say ', 1000), repeat('front desk ', 100)) is not null as cancelled \gset
reset role;
select is((select array[length(actor) <= 200, length(reason) <= 2000, reason like 'cancelled: the guest called%']
             from public.booking_assignment_state_history where booking_id = :'c' and to_state = 'cancelled'),
  array[true, true, true], 'as are who and why, however long, on every change written through the history');

-- 2. A release takes the 1000 longest stuck and says how many it left.
select count(tests.create_booking(:'rid', 2, '2030-03-08 19:00+00'::timestamptz + make_interval(mins => i)))
  from generate_series(1, 1001) i;
set local session_replication_role = replica;
update public.bookings set updated_at = '2001-01-01'::timestamptz + make_interval(secs => extract(epoch from start_at - '2030-03-08 19:00+00'))
 where restaurant_id = :'rid' and assignment_state = 'created';
reset session_replication_role;
-- One whose worker holds a lease, although it made no progress for as long, is left alone, and not locked.
select tests.create_booking(:'rid', 2, '2030-03-09 19:00+00') as leased \gset
select tests.force_state(:'leased', 'assignment_in_progress');
set local session_replication_role = replica;
update public.bookings set updated_at = '2000-01-01', lease_expires_at = now() + interval '5 minutes' where id = :'leased';
reset session_replication_role;
select ops.release_stuck(1, 'ana') as released \gset
select is((select assignment_state from public.bookings where id = :'leased'), 'assignment_in_progress',
  'a booking whose worker holds its lease is left to it');
select is((:'released'::jsonb ->> 'skipped_busy')::int, 0, 'without taking it and skipping it as busy');
select is((:'released'::jsonb ->> 'redispatched')::int, 1000, 'a release takes 1000 bookings');
select ok((:'released'::jsonb ->> 'left')::int >= 2, 'and counts the ones it left: that one, and the leased one');
select is((select count(*)::int from public.bookings where restaurant_id = :'rid' and updated_at < '2002-01-01'
              and assignment_state = 'created'), 1, 'the one left is the most recently stuck of them');
select is((select start_at from public.bookings where restaurant_id = :'rid' and updated_at < '2002-01-01'
              and assignment_state = 'created'),
  '2030-03-08 19:00+00'::timestamptz + interval '1001 minutes', 'the longest stuck went first');
select is((select context ->> 'left' from public.observability_events
            where event_type = 'ops.release_stuck' order by id desc limit 1), :'released'::jsonb ->> 'left',
  'the event says so too');

select * from finish();
rollback;
