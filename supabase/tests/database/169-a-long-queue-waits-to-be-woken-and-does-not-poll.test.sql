-- A long queue waits to be woken and does not poll (20261231500000): a booking joining its restaurant's queue
-- comes due by its own timer later the longer the queue ahead of it, up to max_deferral_seconds: at insert or
-- sent back, one turn of a slot (rate_limited_delay_ms / max_parallel) after the queue's latest timer; deferred
-- at a begin, one rate_limited_delay_ms for each round of max_parallel bookings made before it, its own
-- included. Before, every booking of a queue came due 10 s on and was handed out, begun and deferred again
-- every 10 s. Wakes still take the queue in order as slots free. Bookings are inserted and begun as
-- service_role, as a platform and the coordinator run them; staging and checks as the owner.
begin;
select plan(12);

create function pg_temp.waits(p_bookings uuid[]) returns numeric[] language sql as $$
  select array_agg(round(extract(epoch from b.next_attempt_at - now())) order by b.next_attempt_at)
    from public.bookings b where b.id = any(p_bookings);
$$;
create function pg_temp.insert_bookings(p_restaurant uuid, p_count integer) returns uuid[] language plpgsql as $$
declare
  made uuid[] := '{}';
  one uuid;
begin
  set local role service_role;
  for i in 1..p_count loop
    insert into public.bookings (restaurant_id, party_size, start_at)
    values (p_restaurant, 2, timestamptz '2030-09-01 11:00+00' + make_interval(mins => 15 * i))
    returning id into one;
    made := made || one;
  end loop;
  reset role;
  return made;
end $$;

-- A restaurant with p_slots slots, each held by a booking in progress (begun as the coordinator does).
create function pg_temp.slots_held(p_name text, p_slots integer) returns uuid language plpgsql as $$
declare
  r uuid := tests.create_restaurant(p_name);
  holder uuid;
begin
  insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (r, p_slots);
  for i in 1..p_slots loop
    perform tests.add_table(r, 'H' || i, 4);
    holder := tests.create_booking(r, 2, timestamptz '2030-09-01 17:00+00' + make_interval(hours => i));
    set local role service_role;
    if public.assignment_begin(holder) ->> 'outcome' <> 'ready' then
      raise exception 'staging: holder % was not begun', i;
    end if;
    reset role;
  end loop;
  return r;
end $$;

-- One slot, held by a booking in progress; five bookings made behind it join the queue.
select pg_temp.slots_held('Long drop', 1) as r \gset
select pg_temp.insert_bookings(:'r', 5) as five \gset
select is(pg_temp.waits(:'five'), '{10,20,30,40,50}'::numeric[],
  'each booking joining the queue at insert is due by its own timer one turn of the slot (10 s) after the last');

-- They joined in that order (made a second apart, as a drop's bookings are made moments apart).
update public.bookings b set created_at = now() - make_interval(secs => 10 - q.i)
  from unnest(:'five'::uuid[]) with ordinality q(id, i) where b.id = q.id;

-- Another restaurant's booking, woken 12 s on, is not handed out behind the first restaurant's queue: a claim
-- 15 s on (a clock only the owner may pass) takes the first of the long queue, due 10 s on, and that one.
select tests.create_restaurant('Next door') as s \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'s', 1);
select tests.queue_bookings(:'s', 1) as sq \gset
update public.bookings set next_attempt_at = now() + interval '12 seconds' where id = (:'sq'::uuid[])[1];
-- The claim is of every restaurant, as the coordinator's is; the database may hold others' due bookings too.
select public.assignment_claim_due(p_limit => 1000, p_now => now() + interval '15 seconds') as claimed2 \gset
select is(array[(:'sq'::uuid[])[1] = any(:'claimed2'::uuid[])]
            || array(select f = any(:'claimed2'::uuid[]) from unnest(:'five'::uuid[]) with ordinality u(f, i) order by i),
  array[true, true, false, false, false, false],
  'a claim 15 s on takes the other restaurant''s woken booking and the first of the long queue, none of the rest');

-- And none of the rest of the long queue has come due yet.
select public.assignment_claim_due(p_limit => 10, p_restaurant_id => :'r', p_now => now() + interval '15 seconds') as claimed \gset
select is(cardinality(:'claimed'::uuid[]), 0, 'a claim 15 s on hands out no more of it: the rest wait 20 to 50 s');

-- Two slots: the rounds are of two.
select pg_temp.slots_held('Two slots', 2) as r2 \gset
select pg_temp.insert_bookings(:'r2', 5) as five2 \gset
select is(pg_temp.waits(:'five2'), '{10,15,20,25,30}'::numeric[], 'with two slots, a turn is half as long');

-- A begin that finds the slot taken defers its booking by the queue ahead of it: the third of five waits 30 s
-- (its own 10 s, plus 10 s for each of the two made before it), and says so in its event.
select is(public.assignment_begin((:'five'::uuid[])[3]) ->> 'outcome', 'rate_limited', 'the third finds the slot taken');
select ok((select next_attempt_at - now() between interval '30 seconds' and interval '30.2 seconds'
             from public.bookings where id = (:'five'::uuid[])[3]),
  'and waits 30 s: 10 s for each round of one slot, its own included');
select ok((select (context ->> 'delay_ms')::int between 30000 and 30200 from public.observability_events
            where booking_id = (:'five'::uuid[])[3] and event_type = 'coordinator.retry'
            order by created_at desc, id desc limit 1),
  'its coordinator.retry event gives that wait');

-- The wait never reaches past max_deferral_seconds: the 61st waits 600 s, not 610.
select pg_temp.insert_bookings(:'r', 56) as more \gset
select is((select round(extract(epoch from next_attempt_at - now())) from public.bookings
            where id = (:'more'::uuid[])[56]), 600::numeric, 'no wait reaches past max_deferral_seconds');

-- A booking sent back joins the queue with the tail's timer, and keeps its place from when it was made: made
-- before the whole queue, it is the first the next wake takes.
select tests.create_booking(:'r', 2, '2030-09-02 20:00+00') as early \gset
update public.bookings set created_at = now() - interval '1 hour', deferred_since = null where id = :'early';
select tests.force_state(:'early', 'manual_review', 'no_table_fits: test');
set local role service_role;
select ops.retry_booking(:'early', 'ana') as retried \gset
reset role;
select is(pg_temp.waits(array[:'early'::uuid]), '{600}'::numeric[],
  'the booking sent back joins the queue at the tail''s timer, here the 600 s bound');
select is(private.queue_head(:'r', 1, now()), array[:'early'::uuid], 'and is the first the next wake takes');

-- Timers are only the fallback: wakes still take a queue in its order whatever its timers say. Three queued
-- behind one slot in flight (due 10, 20 and 30 s on); the limit raised to four wakes all three at once.
select pg_temp.slots_held('Raised in a rush', 1) as r3 \gset
select pg_temp.insert_bookings(:'r3', 3) as three \gset
select is(pg_temp.waits(:'three'), '{10,20,30}'::numeric[], 'three queued behind the slot in flight');
set local role service_role;
select ops.set_max_parallel(4, 'ana', :'r3', 'rush') is not null as raised \gset
reset role;
select ok((select bool_and(next_attempt_at <= clock_timestamp()) from public.bookings where id = any(:'three'::uuid[])),
  'the limit raised wakes all three, due now (on the clock it woke them by), the last''s 30 s timer notwithstanding');

select * from finish();
rollback;
