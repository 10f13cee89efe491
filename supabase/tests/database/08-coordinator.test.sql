begin;
select plan(19);

-- A restaurant open 11:00–23:00 UTC with a 2-top, two adjacent movable 4-tops, a fixed 6, a lone 4-top
-- and a terrace 4.
select tests.create_restaurant() as rid \gset
insert into public.zones (restaurant_id, name) values (:'rid', 'Terrace');
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
select tests.add_table(:'rid', 'T4', 6) as t4 \gset
select tests.add_table(:'rid', 'T5', 4) as t5 \gset
select tests.add_table(:'rid', 'P1', 4, 'Terrace') as p1 \gset
update public.restaurant_tables set movable = false where id = :'t4';
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'t2', :'t3'), (:'rid', :'t3', :'t4');

-- Capacity verification really checks.
select tests.create_booking(:'rid', 2, '2030-01-07 09:00+00') as early \gset
select is(public.assignment_begin(:'early') ->> 'outcome', 'manual_review', 'a booking before opening is not assigned');
select alike((select manual_review_reason from public.bookings where id = :'early'), 'outside_service_hours: 09:00–10:30%',
  'and the reason says when it is');
select tests.create_booking(:'rid', 9, '2030-01-07 19:00+00') as huge \gset
select public.assignment_begin(:'huge');
select is((select manual_review_reason from public.bookings where id = :'huge'),
  'party_too_large: a party of 9 exceeds the largest possible arrangement (8 seats)', 'a party no arrangement fits is escalated');

-- Begin hands out a lease and a snapshot.
select tests.create_booking(:'rid', 7, '2030-01-07 19:00+00') as b \gset
select public.assignment_begin(:'b') as began \gset
select is((:'began'::jsonb) ->> 'outcome', 'ready', 'a seatable booking is ready to plan');
select is((select assignment_state from public.bookings where id = :'b'), 'assignment_in_progress', 'and is in progress');
select is(jsonb_array_length((:'began'::jsonb) -> 'snapshot' -> 'tables'), 6, 'the snapshot lists every usable table');

-- Every rule is checked again at commit, whatever the engine proposed.
select throws_like(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t2', :'t5', 'test'),
  '%not_adjacent%', 'tables that do not touch cannot be combined');
select throws_like(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t3', :'t4', 'test'),
  '%table_not_movable%', 'a fixed table is never joined');
select throws_like(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t3', :'p1', 'test'),
  '%zones_differ%', 'tables in different zones are never combined');
select throws_like(format('select public.assignment_commit(%L, %L, array[%L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t4', 'test'),
  '%party_size_out_of_range%', 'a single table must fit the party');
select is(public.assignment_commit(:'b', gen_random_uuid(), array[:'t2', :'t3']::uuid[], 'test') ->> 'outcome', 'lease_lost',
  'a commit without the current lease changes nothing');

-- A table taken meanwhile is a conflict to re-plan, not an error.
select tests.create_booking(:'rid', 4, '2030-01-07 19:30+00') as other \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during)
values (:'other', :'rid', :'t3', tstzrange('2030-01-07 19:30+00', '2030-01-07 21:00+00'));
select is(public.assignment_commit(:'b', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2', :'t3']::uuid[], 'test') ->> 'outcome',
  'conflict', 'a lost race is reported as a conflict');
delete from public.booking_table_assignments where booking_id = :'other';
select is(public.assignment_commit(:'b', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2', :'t3']::uuid[], 'test') ->> 'outcome',
  'confirmed', 'a valid free combination is confirmed');
select is((select count(*)::int from public.notification_outbox where booking_id = :'b'), 1, 'with one confirmation queued');
select private.enqueue_confirmation(b, true) from public.bookings b where id = :'b';
select is((select count(*)::int from public.notification_outbox where booking_id = :'b'), 1, 'queuing it again changes nothing');

-- The in-progress limit holds for every writer, not only assignment_begin.
select tests.create_restaurant('Busy') as busy \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x1 \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x2 \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x3 \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x4 \gset
select tests.force_state(x, 'assignment_in_progress') from unnest(array[:'x1', :'x2', :'x3']::uuid[]) x;
select throws_ok(format('select tests.force_state(%L, %L)', :'x4', 'assignment_in_progress'), 'AS006', null,
  'a fourth booking cannot be in progress at once, even written directly');

-- The sweeper escalates a booking the coordinator never picks up.
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as lost \gset
update public.bookings set dispatch_count = 12, next_attempt_at = now() - interval '1 second' where id = :'lost';
select is(private.sweep(now()) ->> 'escalated', '1', 'the sweeper escalates after max_dispatches');
select alike((select manual_review_reason from public.bookings where id = :'lost'), 'coordinator_unreachable:%',
  'with a reason naming the problem');

-- No personal data: a reason with an e-mail address is scrubbed before it is stored.
select is(private.scrub_personal_data('failed for ada@example.com at +44 20 7946 0000'), 'failed for [email] at [number]',
  'free text is scrubbed of e-mail addresses and phone numbers');

select * from finish();
rollback;
