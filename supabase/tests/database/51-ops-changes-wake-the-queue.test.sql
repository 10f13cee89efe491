begin;
select plan(8);

-- An operator's change that frees slots wakes the queue waiting for them when nothing is in flight ahead of it
-- (20261219000000); a limit raised wakes each queue for the slots it has free, whatever is in flight
-- (20261231500000). Queues are staged with explicit due times; the ops RPCs are called as service_role, as
-- Studio's API client calls them.
-- Woken: due by now (a limit raised wakes each queue on the clock of the moment it reaches it).
create function pg_temp.woken(p_restaurant uuid) returns integer language sql as $$
  select count(*)::int from public.bookings
   where restaurant_id = p_restaurant and deferred_since is not null and next_attempt_at <= clock_timestamp();
$$;

-- A breaker held three bookings; nothing is in flight. Closing it wakes them, as many as the slots (two).
select tests.create_restaurant('Breaker held') as held \gset
select tests.add_table(:'held', 'H1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'held', 2);
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'held', 'open', 5, now() - interval '10 seconds');
select tests.queue_bookings(:'held', 3) is not null as queued \gset
select is(pg_temp.woken(:'held'), 0, 'staged: three wait behind the open breaker');
set local role service_role;
select ops.reset_circuit_breaker(:'held', 'ana', 'upstream fixed') ->> 'outcome' as reset \gset
reset role;
select is(:'reset'::text, 'closed', 'the breaker closes');
select is(pg_temp.woken(:'held'), 2, 'and the two longest-waiting are woken for the two slots');

-- One slot and a queue with nothing in flight; the limit raised to three wakes three.
select tests.create_restaurant('Raised') as raised \gset
select tests.add_table(:'raised', 'R1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'raised', 1);
select tests.queue_bookings(:'raised', 4) is not null as queued \gset
set local role service_role;
select ops.set_max_parallel(3, 'ana', :'raised', 'rush') is not null as set_ok \gset
reset role;
select is(pg_temp.woken(:'raised'), 3, 'raising the limit wakes as many as the new slots');

-- A booking in flight ahead of the queue: the limit raised wakes the two slots it adds at once, in the queue's
-- order; the booking's leave wakes the third.
select tests.create_restaurant('Busy') as busy \gset
select tests.add_table(:'busy', 'B1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'busy', 1);
select tests.create_booking(:'busy', 2, '2030-07-01 12:00+00') as running \gset
select public.assignment_begin(:'running') ->> 'outcome' as began \gset
select tests.queue_bookings(:'busy', 4) is not null as queued \gset
set local role service_role;
select ops.set_max_parallel(3, 'ana', :'busy', 'rush') is not null as set_ok \gset
reset role;
select is(pg_temp.woken(:'busy'), 2, 'with a booking in flight the slots added are woken for at once');
select public.cancel_booking(:'running', 'guest cancelled');
select is(pg_temp.woken(:'busy'), 3, 'its leave wakes as many as the new limit leaves free');

-- The global limit changed: a queue with nothing in flight is woken up to it, one behind an open breaker not.
select tests.create_restaurant('Global') as global \gset
select tests.add_table(:'global', 'G1', 4);
select tests.queue_bookings(:'global', 3) is not null as queued \gset
select tests.create_restaurant('Still open') as still_open \gset
select tests.add_table(:'still_open', 'O1', 4);
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'still_open', 'open', 5, now() - interval '10 seconds');
select tests.queue_bookings(:'still_open', 2) is not null as queued \gset
set local role service_role;
select ops.set_max_parallel(2, 'ana', null, 'rush') is not null as set_ok \gset
reset role;
select is(pg_temp.woken(:'global'), 2, 'a new global limit wakes a queue with nothing in flight, up to it');
select is(pg_temp.woken(:'still_open'), 0, 'but not one its open breaker holds');

select * from finish();
rollback;
