-- Leases of one restaurant that run out together count as one failure toward its breaker (20261227030000).
begin;
select plan(6);

update private.pipeline_settings set max_parallel = 10, breaker_failure_threshold = 3;
select tests.create_restaurant('Redeploy') as rid \gset
create temp table batch (id uuid);
insert into batch select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') from generate_series(1, 4);

create function pg_temp.in_flight() returns void language sql as $$
  select tests.force_state(id, 'assignment_in_progress') from batch;
$$;
create function pg_temp.failures() returns integer language sql as $$
  select consecutive_failures from private.circuit_breakers where restaurant_id = (select restaurant_id
    from public.bookings where id = (select id from batch limit 1));
$$;

-- An instance retired mid-drain: four attempts in flight, their leases all run out.
select pg_temp.in_flight();
select private.sweep(now() + interval '1 hour') is not null as swept \gset
select is((select count(*)::int from public.bookings where id in (select id from batch)
            and assignment_state = 'assignment_pending'), 4, 'the sweeper takes back all four');
select is(pg_temp.failures(), 1, 'and counts them as one failure, with a threshold of three');

-- More of its leases running out ten seconds later belong to the same stop.
select pg_temp.in_flight();
select private.sweep(now() + interval '1 hour 10 seconds') is not null as swept \gset
select is(pg_temp.failures(), 1, 'leases running out within a lease''s length of it are the same stop');

-- A worker that stops on this restaurant's bookings again and again is counted each time.
select pg_temp.in_flight();
select private.sweep(now() + interval '2 hours') is not null as swept \gset
select is(pg_temp.failures(), 2, 'a later stop counts again');
select pg_temp.in_flight();
select private.sweep(now() + interval '3 hours') is not null as swept \gset
select is((select state from private.circuit_breakers where restaurant_id = :'rid'), 'open',
  'and the third opens the breaker');

-- Half-open, the probe's lease running out opens it again, however recently another was counted.
update private.circuit_breakers
   set state = 'half_open', probe_booking_id = (select id from batch limit 1), probe_started_at = now()
 where restaurant_id = :'rid';
select tests.force_state((select id from batch limit 1), 'assignment_in_progress');
select private.sweep(now() + interval '3 hours 10 seconds') is not null as swept \gset
select is((select state from private.circuit_breakers where restaurant_id = :'rid'), 'open',
  'a half-open breaker whose probe ran out opens again');

select * from finish();
rollback;
