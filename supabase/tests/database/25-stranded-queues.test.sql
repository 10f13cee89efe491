begin;
select plan(16);

-- The sweeper's lock first, as the sweep takes it before any other lock: the staging below holds bookings'
-- table lock (a trigger switched off) when this transaction sweeps, and the stack's own sweeper, running
-- beside the tests, must not be mid-sweep then, waiting for that table while this waits for its lock.
select pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000')) as sweeper_locked \gset

-- A wake missed across transactions (a booking joins the queue while the last one in flight leaves, each
-- unseen by the other) is staged here in one transaction by leaving with the wake trigger switched off.
create function pg_temp.strand(p_name text, p_max_parallel integer, p_waiting integer) returns uuid
language plpgsql as $$
declare
  r uuid := tests.create_restaurant(p_name);
  holder uuid;
begin
  perform tests.add_table(r, 'T1', 4);
  insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (r, p_max_parallel);
  -- Dispatched and not begun, each holder speaks for a slot, so the bookings after them join the queue.
  for i in 1..p_max_parallel loop
    perform tests.create_booking(r, 2, timestamptz '2030-02-01 17:00+00' + make_interval(hours => i));
  end loop;
  for i in 1..p_waiting loop
    perform tests.create_booking(r, 2, timestamptz '2030-02-02 17:00+00' + make_interval(hours => i));
  end loop;
  -- One transaction has one now(): the queue's order (by creation) is made explicit.
  update public.bookings b set created_at = now() - make_interval(secs => 100 - q.n)
    from (select id, row_number() over (order by start_at) as n from public.bookings
           where restaurant_id = r and deferred_since is not null) q
   where b.id = q.id;
  alter table public.bookings disable trigger wake_next_deferred;
  for holder in select id from public.bookings where restaurant_id = r and deferred_since is null loop
    perform public.cancel_booking(holder, 'guest cancelled');
  end loop;
  alter table public.bookings enable trigger wake_next_deferred;
  return r;
end $$;

select pg_temp.strand('Stranded for the claim loop', 1, 1) as r1 \gset
select id as b1 from public.bookings where restaurant_id = :'r1' and deferred_since is not null \gset
select ok((select next_attempt_at > now() + interval '5 seconds' from public.bookings where id = :'b1'),
  'staged: the booking waits for a wake that will not come, nothing in flight');
select is(public.assignment_claim_due(10, :'r1', 10000), array[:'b1'::uuid],
  'a claim loop that finds nothing due wakes the stranded queue and claims it');
select is(public.assignment_claim_due(10, :'r1', 10000), '{}'::uuid[], 'once: claimed, it is in flight');

select pg_temp.strand('Stranded for the sweeper', 1, 1) as r2 \gset
select id as b2 from public.bookings where restaurant_id = :'r2' and deferred_since is not null \gset
-- (Run a second time on the database the integration tests filled, the sweep may find other queues too.)
select clock_timestamp() as sweep_at \gset
select ok((private.sweep(:'sweep_at') ->> 'woken')::integer >= 1, 'the sweeper wakes a stranded queue');
select is((select dispatch_count from public.bookings where id = :'b2'), 1, 'and dispatches it in the same sweep');
select ok(exists (select 1 from net.http_request_queue q where convert_from(q.body, 'UTF8') like '%' || :'b2' || '%'),
  'through pg_net');
select ok((select (context ->> 'woken')::integer >= 1 from public.observability_events
            where event_type = 'sweeper.run' and created_at = :'sweep_at'),
  'sweeper.run counts the woken');

select pg_temp.strand('Stranded, two slots', 2, 3) as r3 \gset
select is(private.wake_stranded_queues(now(), :'r3'), 2, 'as many are woken as the restaurant has slots');
select is((select array_agg(start_at order by start_at) from public.bookings
            where restaurant_id = :'r3' and next_attempt_at <= now()),
  array['2030-02-02 18:00+00', '2030-02-02 19:00+00']::timestamptz[], 'the longest-waiting first');
select is(private.wake_stranded_queues(now(), :'r3'), 0, 'a queue with woken bookings is not woken again');

-- A queue behind a booking in flight is not stranded: that booking's leaving wakes it.
select tests.create_restaurant('In flight') as r4 \gset
select tests.add_table(:'r4', 'F1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r4', 1);
select tests.create_booking(:'r4', 2, '2030-02-03 19:00+00') as flying \gset
select tests.create_booking(:'r4', 2, '2030-02-03 20:00+00') as behind \gset
select is(public.assignment_begin(:'flying') ->> 'outcome', 'ready', 'one booking in flight');
select is(private.wake_stranded_queues(now(), :'r4'), 0, 'the queue behind it is left to its wake');

-- A booking claimed, begun and sent back to the queue is no longer "handed out": its queue can be stranded.
select tests.create_restaurant('Sent back') as r5 \gset
select tests.add_table(:'r5', 'B1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r5', 1);
select tests.create_booking(:'r5', 2, '2030-02-04 19:00+00') as running \gset
select public.assignment_begin(:'running') ->> 'outcome' as began \gset
select tests.create_booking(:'r5', 2, '2030-02-04 20:00+00') as back \gset
-- Woken a moment ago and claimed then (one transaction has one now(), so the past stands in for "before").
update public.bookings set next_attempt_at = now() - interval '2 seconds' where id = :'back';
select is(public.assignment_claim_due(10, :'r5', 10000, now() - interval '1 second'), array[:'back'::uuid],
  'claimed');
select is(public.assignment_begin(:'back') ->> 'outcome', 'rate_limited', 'begun, it finds the slot taken and waits again');
alter table public.bookings disable trigger wake_next_deferred;
select public.cancel_booking(:'running', 'guest cancelled');
alter table public.bookings enable trigger wake_next_deferred;
select is(private.wake_stranded_queues(now(), :'r5'), 1, 'its queue, stranded, is woken');

-- A breaker that is not closed holds its queue on purpose.
select pg_temp.strand('Breaker open', 1, 1) as r6 \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'r6', 'open', 5, now());
select is(private.wake_stranded_queues(now(), :'r6'), 0, 'a queue behind an open breaker is left alone');

select * from finish();
rollback;
