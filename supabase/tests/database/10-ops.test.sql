begin;
select plan(20);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'t2', :'t3');
select tests.create_booking(:'rid', 6, '2030-01-07 19:00+00') as b \gset
select tests.force_state(:'b', 'manual_review', 'no_table_fits: test');

select is((select free_tables_that_fit from ops.manual_review_queue(:'rid') where booking_id = :'b'),
  '[["T2", "T3"]]'::jsonb, 'the review queue suggests the free arrangement that seats the party');

select throws_ok(format($$select ops.assign_tables(%L, array['T1','T2'], 'ana')$$, :'b'), 'AS007', null,
  'manual assignment obeys the same rules as the engine (tables must touch)');
select throws_ok(format($$select ops.assign_tables(%L, array['T9'], 'ana')$$, :'b'), 'AS005', 'no table T9 in this restaurant',
  'unknown tables are named');
select throws_ok(format($$select ops.assign_tables(%L, array['T2','T3'], '')$$, :'b'), 'AS005', null,
  'an actor is required');
select is(ops.assign_tables(:'b', array['T2', 'T3'], 'ana', 'regular guest') ->> 'outcome', 'confirmed',
  'a valid manual assignment confirms the booking');
select is((select assignment_state from public.bookings where id = :'b'), 'confirmed', 'the booking is confirmed');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'b' and released_at is null and source = 'ops'),
  2, 'two tables are held, marked as an ops assignment');
select is((select array_agg(actor order by version) from public.booking_assignment_state_history
            where booking_id = :'b' and actor <> 'tests.force_state'),
  array['ana', 'ana'], 'the history records the operator on each step');
select is(ops.assign_tables(:'b', array['T3', 'T2'], 'ana') ->> 'outcome', 'unchanged',
  'asking again for the same tables changes nothing');
select is((select count(*)::int from public.booking_assignment_state_history
            where booking_id = :'b' and actor <> 'tests.force_state'), 2,
  'not even the history');
select is((select count(*)::int from public.notification_outbox where booking_id = :'b'), 1, 'one confirmation is queued');

select tests.create_booking(:'rid', 2, '2030-01-07 19:30+00') as other \gset
select throws_ok(format($$select ops.assign_tables(%L, array['T2'], 'ana')$$, :'other'), 'AS009',
  'already taken for this booking''s time: T2', 'a table already taken is refused by name');
select is(ops.assign_tables(:'other', array['T1'], 'ana') ->> 'outcome', 'confirmed',
  'a pending booking can be assigned by hand too');

-- Retry and cancel.
select throws_ok(format($$select ops.retry_booking(%L, 'ana')$$, :'b'), 'AS001', null,
  'only bookings in manual review can be retried');
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as r \gset
select tests.force_state(:'r', 'manual_review', 'attempts_exhausted: test');
select is(ops.retry_booking(:'r', 'ana') ->> 'outcome', 'queued', 'a reviewed booking goes back to the pipeline');
select is((select array[assignment_state, attempt_count::text] from public.bookings where id = :'r'),
  array['assignment_pending', '0'], 'with a fresh attempt budget');
select is(ops.cancel_booking(:'b', 'guest called', 'ana') ->> 'to', 'cancelled', 'ops can cancel');
select is(ops.cancel_booking(:'b', 'guest called', 'ana') ->> 'outcome', 'unchanged', 'cancelling twice is harmless');

-- Stuck bookings and health.
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as stuck \gset
select tests.force_state(:'stuck', 'assignment_pending');
alter table public.bookings disable trigger touch_updated_at;
update public.bookings set updated_at = now() - interval '1 hour' where id = :'stuck';
alter table public.bookings enable trigger touch_updated_at;
select ok(exists (select 1 from ops.stuck_bookings where booking_id = :'stuck'), 'a booking with no progress shows as stuck');
select is(ops.release_stuck(30, 'ana') ->> 'redispatched', '1', 'release_stuck dispatches it again');

select * from finish();
rollback;
