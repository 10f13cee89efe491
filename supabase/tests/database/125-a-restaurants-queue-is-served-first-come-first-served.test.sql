-- A restaurant's queue is served first come, first served (20261231040000): a lease that finds slots free gives
-- them first to the queued bookings that joined before its own, wakes those asleep, and defers its own booking
-- when they fill the free slots; a booking ahead that cannot be handed out is passed over. A wait that runs out
-- says how many are in progress and how many wait ahead. Leases are taken as service_role, as the
-- coordinator's Data API client takes them; staging and checks as the owner. tests.queue_bookings makes a queue
-- with nothing in flight, oldest first, every booking asleep (due in a minute).
begin;
select plan(18);

create function pg_temp.begin_as_coordinator(p_booking uuid) returns text
language plpgsql as $$
declare
  outcome text;
begin
  set local role service_role;
  outcome := public.assignment_begin(p_booking) ->> 'outcome';
  reset role;
  return outcome;
end $$;
create function pg_temp.due(p_booking uuid) returns boolean language sql as $$
  select next_attempt_at <= now() from public.bookings where id = p_booking;
$$;
-- A queue of p_waiting, the last of them due on its own fallback timer.
create function pg_temp.queue(p_name text, p_slots integer, p_waiting integer) returns uuid[]
language plpgsql as $$
declare
  r uuid := tests.create_restaurant(p_name);
  q uuid[];
begin
  perform tests.add_table(r, 'T1', 4);
  insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (r, p_slots);
  q := tests.queue_bookings(r, p_waiting);
  update public.bookings set next_attempt_at = now() - interval '1 second' where id = q[p_waiting];
  return q;
end $$;

-- One slot, free: the later booking, due by its timer, reaches the lease first.
select pg_temp.queue('One slot', 1, 2) as q \gset
select is(pg_temp.begin_as_coordinator((:'q'::uuid[])[2]), 'rate_limited',
  'a booking that finds the slot free waits while one that joined before it waits too');
select ok(pg_temp.due((:'q'::uuid[])[1]), 'and the one ahead of it, asleep, is woken for the slot');
select is((select context -> 'left_to_earlier' from public.observability_events
            where booking_id = (:'q'::uuid[])[2] and event_type = 'coordinator.retry'), '1'::jsonb,
  'its retry event says it left the free slot to one booking inserted before it');
select is(pg_temp.begin_as_coordinator((:'q'::uuid[])[1]), 'ready', 'the first to join takes the slot');

-- Two slots, three waiting: the two ahead fill both slots and are woken; with one ahead, the later one runs.
select pg_temp.queue('Two slots, two ahead', 2, 3) as q2 \gset
select is(pg_temp.begin_as_coordinator((:'q2'::uuid[])[3]), 'rate_limited',
  'with two slots free and two ahead, the third waits');
select ok(pg_temp.due((:'q2'::uuid[])[1]) and pg_temp.due((:'q2'::uuid[])[2]), 'both ahead of it are woken');
select pg_temp.queue('Two slots, one ahead', 2, 2) as q3 \gset
select is(pg_temp.begin_as_coordinator((:'q3'::uuid[])[2]), 'ready',
  'with two slots free and one ahead, the later booking takes the other slot');
select ok(pg_temp.due((:'q3'::uuid[])[1]), 'and the one ahead is woken for its own');

-- A booking ahead handed out three times without a begin reaching it (its begin fails, or an operator's call
-- holds it) holds no slot; twice, it still does.
select pg_temp.queue('Head handed out in vain', 1, 2) as q4 \gset
update public.bookings set dispatch_count = 2 where id = (:'q4'::uuid[])[1];
select is(pg_temp.begin_as_coordinator((:'q4'::uuid[])[2]), 'rate_limited',
  'a booking ahead handed out twice without a begin still has its turn');
update public.bookings set dispatch_count = 3 where id = (:'q4'::uuid[])[1];
select is(pg_temp.begin_as_coordinator((:'q4'::uuid[])[2]), 'ready', 'three times, it is passed over');
-- So is one that failed on its own a moment ago (a row nobody can update, set aside for a minute).
select pg_temp.queue('Head failing', 1, 2) as q7 \gset
insert into public.observability_events (source, event_type, severity, context, booking_id)
values ('assignment.sweeper', 'sweeper.row_failed', 'error', '{"step": "claim"}', (:'q7'::uuid[])[1]);
select is(pg_temp.begin_as_coordinator((:'q7'::uuid[])[2]), 'ready', 'a booking ahead that failed lately is passed over');

-- Half-open, the breaker lets one booking run: that slot goes to the booking ahead, though two are free.
select pg_temp.queue('Half-open', 2, 2) as q6 \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
select restaurant_id, 'open', 5, now() - interval '1 minute' from public.bookings where id = (:'q6'::uuid[])[1];
select is(pg_temp.begin_as_coordinator((:'q6'::uuid[])[2]), 'rate_limited',
  'a later booking that would probe leaves the probe''s slot to the one ahead');
select is(pg_temp.begin_as_coordinator((:'q6'::uuid[])[1]), 'ready', 'which runs as the probe');

-- A booking ahead handed out a moment ago (its worker is about to begin it) keeps its slot and is not woken
-- again, which would hand it to a second worker. The first of the queue is passed over throughout.
select pg_temp.queue('Head handed out', 1, 3) as q5 \gset
update public.bookings set dispatch_count = 3 where id = (:'q5'::uuid[])[1];
update public.bookings set last_dispatched_at = now(), dispatch_count = 1, next_attempt_at = now() + interval '10 seconds'
 where id = (:'q5'::uuid[])[2];
select is(pg_temp.begin_as_coordinator((:'q5'::uuid[])[3]), 'rate_limited',
  'a booking handed out ahead of it keeps the slot');
select is((select next_attempt_at from public.bookings where id = (:'q5'::uuid[])[2]), now() + interval '10 seconds',
  'and is not woken again');

-- The wait runs out (ten minutes on, which only the owner may pass for the clock): the reason tells a busy queue
-- from a stuck one, counting the bookings ahead that wait their turn (not the one passed over).
select is(public.assignment_begin((:'q5'::uuid[])[3], p_now => now() + interval '10 minutes') ->> 'outcome', 'manual_review',
  'a booking that waited past max_deferral_seconds goes to review');
select alike((select manual_review_reason from public.bookings where id = (:'q5'::uuid[])[3]),
  'rate_limited: waited 11 min in the restaurant''s queue for one of its 1 assignment slots; 0 in progress and 1 waiting ahead of it now; bookings that stay in progress are stuck: release them (ops.release_stuck()); a long queue ahead is more bookings than the slots assign: raise ops.set_max_parallel()%; then ops.retry_bookings(%',
  'its reason counts those in progress and those ahead, and says which remedy fits which');
select is((select metadata - 'waited_ms' from public.booking_assignment_state_history
            where booking_id = (:'q5'::uuid[])[3] and to_state = 'manual_review'),
  '{"deferred_by": "rate_limited", "in_progress": 0, "ahead": 1}'::jsonb, 'its history says the same in numbers');

select * from finish();
rollback;
