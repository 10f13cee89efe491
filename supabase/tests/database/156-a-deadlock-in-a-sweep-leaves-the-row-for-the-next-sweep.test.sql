-- A deadlock or a serialization failure in a sweep leaves the row for the next sweep, not for manual review
-- (20261231360000). Staged with a trigger that fails one row's update as Postgres fails the loser of a race.
begin;
-- The sweeper's lock first, as the sweep takes it before any other lock (see 25): the staging below holds
-- bookings' table lock when this transaction sweeps.
select pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000')) as sweeper_locked \gset
select plan(8);

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

select private.sweep(now()) as swept \gset
select is(array[:'swept'::jsonb ->> 'failed', :'swept'::jsonb ->> 'escalated'], array['0', '0'],
  'a sweep that loses two races fails no row and escalates none');
select cmp_ok((:'swept'::jsonb ->> 'skipped_locked')::int, '>=', 2, 'it counts both as left for the next sweep');
select is((select array_agg(assignment_state order by start_at) from public.bookings where id in (:'due', :'leased')),
  array['created', 'assignment_in_progress'], 'both bookings are where they were, neither in review');
select ok(not exists (select 1 from public.observability_events
                       where booking_id in (:'due', :'leased') and event_type = 'sweeper.row_failed'),
  'and no row is set aside as failed, so the next sweep takes them at once');

-- The race over, the next sweep ends them as it ends any such row.
drop trigger lose_a_race on public.bookings;
select private.sweep(now()) as swept \gset
select is((select dispatch_count from public.bookings where id = :'due'), 1, 'the next sweep dispatches the due one');
select is((select assignment_state from public.bookings where id = :'leased'), 'assignment_pending',
  'and releases the lease that ran out');

-- Any other failure still sends the row to review, so a row that fails for good is not retried for ever.
select tests.create_booking(:'rid', 2, '2030-01-07 14:00+00') as broken \gset
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
select private.sweep(now()) ->> 'failed' as failed \gset
select is(:'failed'::text, '1', 'a row failing otherwise is counted failed');
select is((select manual_review_reason from public.bookings where id = :'broken'),
  'sweeper_error: dispatch failed with SQLSTATE 42883; see the sweeper.row_failed event', 'and escalated naming it');
drop trigger break_for_good on public.bookings;

select * from finish();
rollback;
