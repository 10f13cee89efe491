-- Bookings waiting out a breaker come due in their queue's order (20261231510000): a booking the breaker
-- defers waits what the breaker asks plus one rate_limited_delay_ms for each round of the restaurant's
-- max_parallel slots that the bookings queued before it fill, up to max_deferral_seconds. Before, every booking
-- of the queue came due when the cooldown ended and was begun then, and every 1–5 s while the probe ran.
-- Bookings are inserted and begun as service_role, as a platform and the coordinator run them; staging and
-- checks as the owner.
begin;
select plan(11);

create function pg_temp.waits(p_bookings uuid[]) returns numeric[] language sql as $$
  select array_agg(round(extract(epoch from b.next_attempt_at - now())) order by q.i)
    from unnest(p_bookings) with ordinality q(id, i) join public.bookings b on b.id = q.id;
$$;
create function pg_temp.delays(p_answers jsonb[]) returns integer[] language sql as $$
  select array_agg((a ->> 'delay_ms')::integer order by i) from unnest(p_answers) with ordinality u(a, i);
$$;

-- A restaurant with two slots, a table, and a breaker that opened p_opened_ago (a 15 s cooldown), and
-- p_count bookings made for it a second apart, as a platform makes them: their ids, oldest first.
create function pg_temp.behind_breaker(p_name text, p_opened_ago interval, p_count integer, p_day timestamptz)
returns uuid[] language plpgsql as $$
declare
  r uuid := tests.create_restaurant(p_name);
  made uuid[];
begin
  insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (r, 2);
  perform tests.add_table(r, 'T1', 4);
  insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
  values (r, 'open', 5, now() - p_opened_ago);
  set local role service_role;
  insert into public.bookings (restaurant_id, party_size, start_at)
  select r, 2, p_day + make_interval(mins => 15 * i) from generate_series(1, p_count) i;
  reset role;
  select array_agg(id order by start_at) into made from public.bookings where restaurant_id = r;
  update public.bookings b set created_at = now() - make_interval(secs => 10 - q.i)
    from unnest(made) with ordinality q(id, i) where b.id = q.id;
  return made;
end $$;
-- Each begun in that order, as the coordinator would: the answers.
create function pg_temp.begin_all(p_bookings uuid[]) returns jsonb[] language plpgsql as $$
declare
  answers jsonb[];
begin
  set local role service_role;
  select array_agg(public.assignment_begin(q.id) order by q.i) into answers
    from unnest(p_bookings) with ordinality q(id, i);
  reset role;
  return answers;
end $$;

-- Five bookings behind a breaker that opened 5 s ago (10 s of cooldown left).
select pg_temp.behind_breaker('Failing engine', interval '5 seconds', 5, '2030-10-01 18:00+00') as five \gset
select restaurant_id as r from public.bookings where id = (:'five'::uuid[])[1] \gset
select pg_temp.begin_all(:'five') as begun \gset

select is(array(select a ->> 'outcome' from unnest(:'begun'::jsonb[]) a), array_fill('circuit_open'::text, array[5]),
  'the open breaker defers all five');
select is(pg_temp.delays(:'begun'), '{10000,10000,20000,20000,30000}'::integer[],
  'the first round of two waits out the cooldown; each later round of two waits 10 s more');
select is(pg_temp.waits(:'five'), '{10,10,20,20,30}'::numeric[], 'and each comes due by that timer');
select is((select array_agg((e.context ->> 'delay_ms')::integer order by q.i)
             from unnest(:'five'::uuid[]) with ordinality q(id, i)
             join public.observability_events e on e.booking_id = q.id and e.event_type = 'coordinator.circuit_open'),
  '{10000,10000,20000,20000,30000}'::integer[], 'the circuit_open events say the same waits');

-- When the cooldown ends, a claim hands out the first round only, not the whole queue.
select public.assignment_claim_due(p_limit => 10, p_restaurant_id => :'r', p_now => now() + interval '10 seconds')
  as claimed \gset
select is(array(select f = any(:'claimed'::uuid[]) from unnest(:'five'::uuid[]) with ordinality u(f, i) order by i),
  array[true, true, false, false, false], 'a claim as the cooldown ends hands out the first round only');

-- The first makes the probe; while it runs, the second waits for its report as before (5 s at most), and the
-- last, were it handed out, a round more, for the three still queued before it. (Begun 10 s on: a clock only
-- the owner may pass.)
select public.assignment_begin((:'five'::uuid[])[1], p_now => now() + interval '10 seconds') ->> 'outcome' as probe \gset
select pg_temp.delays(array[public.assignment_begin((:'five'::uuid[])[2], p_now => now() + interval '10 seconds'),
                            public.assignment_begin((:'five'::uuid[])[5], p_now => now() + interval '10 seconds')])
  as half_open \gset
select is(:'probe'::text, 'ready', 'the head of the queue makes the probe');
select is(:'half_open'::integer[], '{5000,15000}'::integer[],
  'while the probe runs, the next waits 5 s, and one with a round queued before it 10 s more');

-- However long the queue, a wait ends by max_deferral_seconds (600 s from when it began): the fourth has a round
-- queued before it (the second and third), which would be 5 s + 700 s now.
update private.pipeline_settings set rate_limited_delay_ms = 700000;
set local role service_role;
select (public.assignment_begin((:'five'::uuid[])[4]) ->> 'delay_ms')::integer as capped \gset
reset role;
select is(:'capped'::integer, 600000, 'a wait the rounds would make longer is cut to max_deferral_seconds');
select is(pg_temp.waits(array[(:'five'::uuid[])[4]]), '{600}'::numeric[], 'and so is its timer');
update private.pipeline_settings set rate_limited_delay_ms = 10000;

-- A breaker closed by hand with nothing in flight: no booking leaves a slot to wake the queue, and the later
-- rounds' timers are far off; the next claim's pass over stranded queues wakes the first round, not all.
select pg_temp.behind_breaker('Fixed engine', interval '0 seconds', 4, '2030-10-02 18:00+00') as four \gset
select restaurant_id as f from public.bookings where id = (:'four'::uuid[])[1] \gset
select pg_temp.begin_all(:'four') as waiting \gset
set local role service_role;
select ops.reset_circuit_breaker(:'f', 'ana', 'the engine is fixed') is not null as reset \gset
reset role;
select is(pg_temp.delays(:'waiting'), '{15000,15000,25000,25000}'::integer[], 'four wait out a fresh cooldown, by rounds');
select public.assignment_claim_due(p_limit => 10, p_restaurant_id => :'f', p_now => now() + interval '1 second')
  as woken \gset
select is(array(select x = any(:'woken'::uuid[]) from unnest(:'four'::uuid[]) with ordinality u(x, i) order by i),
  array[true, true, false, false], 'after the breaker is reset by hand, the next claim hands out the first round');

select * from finish();
rollback;
