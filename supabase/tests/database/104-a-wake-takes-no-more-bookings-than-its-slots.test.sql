-- A wake takes no more bookings from the queue than the slots it counted (20261228120000), whatever plan the
-- planner picks. The plan a nearly empty bookings table gets (a fresh database: the one pgTAP 51 failed on) is
-- pinned here: the queue's sub-select as the inner side of a nested loop, run again for each booking scanned,
-- where the wake used to reach one booking further down the queue on each run. Operators call as service_role.
begin;
select plan(6);

set local enable_hashagg = off;
set local enable_hashjoin = off;
set local enable_mergejoin = off;
set local enable_material = off;
set local enable_sort = off;

-- Woken: due by now (a limit raised wakes a queue on the clock of the moment it reaches it, 20261231500000).
create function pg_temp.woken(p_restaurant uuid) returns uuid[] language sql as $$
  select coalesce(array_agg(id order by created_at), '{}') from public.bookings
   where restaurant_id = p_restaurant and deferred_since is not null and next_attempt_at <= clock_timestamp();
$$;

-- The plan the old statement gets under these settings (EXPLAIN runs nothing): if a release of Postgres
-- planned it otherwise, this file would no longer try the wakes against it.
create function pg_temp.old_wake_plan(p_restaurant uuid) returns text language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute format($q$explain (costs off) update public.bookings set next_attempt_at = now()
                                  where id in (select w.id from public.bookings w
                                                where w.restaurant_id = %L and w.deferred_since is not null
                                                order by w.created_at, w.id limit 2 for update skip locked)$q$,
                             p_restaurant) loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end $$;

-- A booking leaves its slot (private.wake_next_deferred): two slots free, five waiting.
select tests.create_restaurant('Leaving') as leaving \gset
select tests.add_table(:'leaving', 'L1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'leaving', 2);
select tests.create_booking(:'leaving', 2, '2030-07-01 12:00+00') as first_running \gset
select tests.create_booking(:'leaving', 2, '2030-07-01 13:00+00') as second_running \gset
select public.assignment_begin(:'first_running') ->> 'outcome' as began \gset
select public.assignment_begin(:'second_running') ->> 'outcome' as began \gset
select tests.queue_bookings(:'leaving', 5) as leaving_queue \gset
select ok(pg_temp.old_wake_plan(:'leaving') ~ 'Nested Loop Semi Join' and pg_temp.old_wake_plan(:'leaving') !~ 'Materialize',
  'pinned: the old sub-select is the inner side of a nested loop, run again for each booking scanned');
set local role service_role;
select public.cancel_booking(:'first_running', 'guest cancelled') is not null as first_left \gset
reset role;
select is(pg_temp.woken(:'leaving'), (:'leaving_queue'::uuid[])[1:1],
  'a booking leaving one of two slots wakes one: the longest-waiting');
set local role service_role;
select public.cancel_booking(:'second_running', 'guest cancelled') is not null as second_left \gset
reset role;
select is(pg_temp.woken(:'leaving'), (:'leaving_queue'::uuid[])[1:2],
  'the second leaving wakes the next one, no more');

-- A queue with nothing in flight (private.wake_stranded_queues), woken by an operator raising the limit.
select tests.create_restaurant('Stranded') as stranded \gset
select tests.add_table(:'stranded', 'S1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'stranded', 1);
select tests.queue_bookings(:'stranded', 5) as stranded_queue \gset
set local role service_role;
select ops.set_max_parallel(2, 'ana', :'stranded', 'rush') is not null as set_ok \gset
reset role;
select is(pg_temp.woken(:'stranded'), (:'stranded_queue'::uuid[])[1:2],
  'a raised limit wakes as many as its slots, longest-waiting first');

-- The same queue woken by its breaker closing.
select tests.create_restaurant('Held') as held \gset
select tests.add_table(:'held', 'H1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'held', 3);
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'held', 'open', 5, now() - interval '10 seconds');
select tests.queue_bookings(:'held', 6) as held_queue \gset
set local role service_role;
select ops.reset_circuit_breaker(:'held', 'ana', 'upstream fixed') ->> 'outcome' as reset \gset
reset role;
select is(pg_temp.woken(:'held'), (:'held_queue'::uuid[])[1:3], 'a closed breaker wakes as many as the slots');

-- The sweeper's pass over every stranded queue, the two above put back to sleep; the first's woken are left.
update public.bookings set next_attempt_at = now() + interval '1 minute'
 where restaurant_id in (:'stranded', :'held') and deferred_since is not null;
select private.wake_stranded_queues(now());
select is(array[cardinality(pg_temp.woken(:'stranded')), cardinality(pg_temp.woken(:'held')),
                cardinality(pg_temp.woken(:'leaving'))],
          array[2, 3, 2], 'each up to its own slots, and the one already woken is left as it was');

select * from finish();
rollback;
