-- Rows nobody can update wait aside, so they never fill the sweeper's batch or a claim of one
-- (20261227080000). Claimed as the coordinator does, through the Data API's role, scoped to this test's
-- restaurant; swept as pg_cron does, by the owner.
begin;
-- The sweeper's lock first, as the sweep takes it before any other lock (see 25): this transaction holds
-- bookings' table lock when it sweeps, and the stack's own sweeper, waiting for that table while it holds the
-- sweeper's lock, would deadlock with it.
select pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000')) as sweeper_locked \gset
select plan(8);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);
-- Three bookings no UPDATE of which goes through (a platform trigger of its own refuses them), due first,
-- then two good ones.
create temporary table stubborn as
  select tests.create_booking(:'rid', 2, '2030-02-07 12:00+00'::timestamptz + i * interval '1 hour') as id
    from generate_series(1, 3) i;
select tests.create_booking(:'rid', 2, '2030-02-08 12:00+00') as good \gset
select tests.create_booking(:'rid', 2, '2030-02-08 14:00+00') as other \gset
update public.bookings set next_attempt_at = '2000-01-01'::timestamptz + (start_at - '2030-02-07 12:00+00')
 where id in (select id from stubborn);
update public.bookings set next_attempt_at = '2000-01-02' where id = :'good';
update public.bookings set next_attempt_at = '2000-01-03' where id = :'other';
create function tests.refuse_every_update() returns trigger language plpgsql as $$
begin
  if new.id in (select id from pg_temp.stubborn) then
    raise exception 'this row cannot be changed';
  end if;
  return new;
end $$;
-- As in 18 and 64: the strongest lock before create trigger, so the running stack waits for this transaction.
lock table public.bookings in access exclusive mode;
create trigger refuse_every_update before update on public.bookings for each row
  execute function tests.refuse_every_update();
grant select on stubborn to service_role;

-- A claim of one reads past them.
set local role service_role;
select is(public.assignment_claim_due(1, :'rid'), array[:'good']::uuid[],
  'a claim of one hands out the good booking behind rows nobody can update');
select is(public.assignment_claim_due(1, :'rid'), array[:'other']::uuid[], 'and the next claim the next one');
reset role;
select is((select count(*)::int from public.observability_events e join stubborn s on s.id = e.booking_id
            where e.event_type = 'sweeper.row_failed'), 3, 'each refused row is recorded once');
select is((select count(*)::int from public.bookings where id in (select id from stubborn) and assignment_state = 'created'),
  3, 'and left where it is, as nothing can move it');

-- The sweeper, with a batch smaller than the rows nobody can update, reaches a booking behind them.
update private.pipeline_settings set sweeper_batch_size = 2;
update public.bookings set next_attempt_at = '2000-01-04', dispatch_count = 0 where id = :'good';
select private.sweep('2030-01-01 00:00+00') ->> 'failed' as first_failed \gset
select is(array[:'first_failed'::int, (select dispatch_count from public.bookings where id = :'good')], array[2, 0],
  'a first sweep of two meets two of the rows it cannot update, not the good one');
select private.sweep('2030-01-01 00:00:05+00') as second \gset
select is((:'second'::jsonb ->> 'failed')::int, 1, 'the next passes over the two that failed just now');
select is((select dispatch_count from public.bookings where id = :'good'), 1,
  'and reaches the booking behind them');
select is((select count(*)::int from public.observability_events e join stubborn s on s.id = e.booking_id
            where e.event_type = 'sweeper.row_failed' and e.created_at >= '2030-01-01'), 3,
  'recording each refused row once a minute at most');

drop trigger refuse_every_update on public.bookings;
select * from finish();
rollback;
