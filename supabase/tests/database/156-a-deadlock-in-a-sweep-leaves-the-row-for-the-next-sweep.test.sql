-- A deadlock or a serialization failure in a sweep leaves the row for the next sweep, not for manual review
-- (20261231360000), unless the row keeps losing: three within a minute, and it is escalated as a failure.
-- Staged with a trigger that fails one row's update as Postgres fails the loser of a race. Only this test's
-- rows are asserted on: a filled database may hold others a sweep takes too.
begin;
-- The sweeper's lock first, as the sweep takes it before any other lock (see 25): the staging below holds
-- bookings' table lock when this transaction sweeps.
select pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000')) as sweeper_locked \gset
select plan(14);

select tests.create_restaurant('Raced') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
-- One due to be dispatched, one whose lease ran out.
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as due \gset
update public.bookings set next_attempt_at = now() - interval '1 minute' where id = :'due';
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as leased \gset
select tests.force_state(:'leased', 'assignment_in_progress') is null as leased_now \gset
update public.bookings set lease_expires_at = now() - interval '1 minute' where id = :'leased';

create function tests.lose_a_race() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.due')::uuid and new.dispatch_count <> old.dispatch_count then
    raise exception using errcode = '40P01', message = 'deadlock detected';
  end if;
  if new.id = current_setting('tests.leased')::uuid and new.assignment_state <> old.assignment_state then
    raise exception using errcode = '40001', message = 'could not serialize access due to concurrent update';
  end if;
  return new;
end $$;
select set_config('tests.due', :'due', true), set_config('tests.leased', :'leased', true);
lock table public.bookings in access exclusive mode;
create trigger lose_a_race before update on public.bookings for each row execute function tests.lose_a_race();

create function pg_temp.events(p_type text) returns text[] language sql as $$
  select coalesce(array_agg(e.context ->> 'step' order by e.context ->> 'step'), '{}') from public.observability_events e
   where e.booking_id in (current_setting('tests.due')::uuid, current_setting('tests.leased')::uuid)
     and e.event_type = p_type
$$;

select cmp_ok((private.sweep(now()) ->> 'skipped_locked')::int, '>=', 2, 'a sweep that loses two races skips both rows');
select is((select array_agg(assignment_state order by start_at) from public.bookings where id in (:'due', :'leased')),
  array['created', 'assignment_in_progress'], 'both bookings are where they were, neither in review');
select is(pg_temp.events('sweeper.row_failed'), '{}'::text[],
  'no row is set aside as failed, so the next sweep takes them at once');
select is(pg_temp.events('sweeper.row_raced'), array['dispatch', 'expire_lease'], 'and each race lost is said');

-- Lost once more, the race over: the next sweep ends them as it ends any such row.
select private.sweep(now() + interval '5 seconds') is not null as swept \gset
drop trigger lose_a_race on public.bookings;
select private.sweep(now() + interval '10 seconds') is not null as swept \gset
select is((select dispatch_count from public.bookings where id = :'due'), 1, 'the sweep after the race dispatches the due one');
select is((select assignment_state from public.bookings where id = :'leased'), 'assignment_pending',
  'and releases the lease that ran out');

-- A row that loses every time is no race: the third loss within a minute escalates it, and its restaurant's
-- slot and the head of the sweep are not held for ever.
select tests.create_booking(:'rid', 2, '2030-01-07 14:00+00') as stuck \gset
update public.bookings set next_attempt_at = now() - interval '1 minute' where id = :'stuck';
select set_config('tests.due', :'stuck', true);
create trigger lose_a_race before update on public.bookings for each row execute function tests.lose_a_race();
select private.sweep(now() + interval '20 seconds') is not null as first \gset
select private.sweep(now() + interval '25 seconds') is not null as second \gset
select is((select assignment_state from public.bookings where id = :'stuck'), 'created', 'two losses leave it queued');
select private.sweep(now() + interval '30 seconds') is not null as third \gset
select is((select manual_review_reason from public.bookings where id = :'stuck'),
  'sweeper_error: dispatch failed with SQLSTATE 40P01; see the sweeper.row_failed event',
  'the third within a minute escalates it as a failure, naming it');
select is((select count(*)::int from public.observability_events where booking_id = :'stuck' and event_type = 'sweeper.row_failed'),
  1, 'and sets it aside as a failed row');

-- Losses more than a minute apart are races, each left for the next sweep.
select tests.create_booking(:'rid', 2, '2030-01-07 16:00+00') as slow \gset
update public.bookings set next_attempt_at = now() - interval '1 minute' where id = :'slow';
select set_config('tests.due', :'slow', true);
select private.sweep(now() + interval '1 minute') is not null as first \gset
select private.sweep(now() + interval '2 minutes 1 second') is not null as second \gset
select private.sweep(now() + interval '3 minutes 2 seconds') is not null as third \gset
select is((select assignment_state from public.bookings where id = :'slow'), 'created',
  'three losses over three minutes leave it queued');

-- A queued booking whose wake loses every time is set aside at its third loss within a minute, so the wake
-- passes over it to the bookings behind it.
select tests.create_booking(:'rid', 2, '2030-01-07 17:00+00') as queued \gset
select set_config('tests.due', :'queued', true);
create or replace function tests.lose_a_race() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.due')::uuid and new.next_attempt_at is distinct from old.next_attempt_at then
    raise exception using errcode = '40001', message = 'could not serialize access due to concurrent update';
  end if;
  return new;
end $$;
select private.wake_bookings(array[:'queued']::uuid[], now() + interval '4 minutes') as woken \gset
select private.wake_bookings(array[:'queued']::uuid[], now() + interval '4 minutes 5 seconds') as woken \gset
select ok(not private.failed_lately(:'queued', now() + interval '4 minutes 5 seconds'),
  'two lost wakes leave it for the next wake');
select private.wake_bookings(array[:'queued']::uuid[], now() + interval '4 minutes 10 seconds') as woken \gset
select ok(private.failed_lately(:'queued', now() + interval '4 minutes 10 seconds'),
  'the third within a minute sets it aside, so the next wake passes over it');
drop trigger lose_a_race on public.bookings;

-- Any other failure still sends the row to review at once.
select tests.create_booking(:'rid', 2, '2030-01-07 15:00+00') as broken \gset
update public.bookings set next_attempt_at = now() - interval '1 minute' where id = :'broken';
create function tests.break_for_good() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.broken')::uuid and new.dispatch_count <> old.dispatch_count then
    raise exception using errcode = '42883', message = 'function the platform dropped does not exist';
  end if;
  return new;
end $$;
select set_config('tests.broken', :'broken', true);
create trigger break_for_good before update on public.bookings for each row execute function tests.break_for_good();
select private.sweep(now() + interval '6 minutes') is not null as swept \gset
select is((select manual_review_reason from public.bookings where id = :'broken'),
  'sweeper_error: dispatch failed with SQLSTATE 42883; see the sweeper.row_failed event', 'a failure of another kind escalates at once');
select is((select count(*)::int from public.observability_events where booking_id = :'broken' and event_type = 'sweeper.row_raced'), 0,
  'without a race said');
drop trigger break_for_good on public.bookings;

select * from finish();
rollback;
