-- A booking woken in its queue that nobody takes holds no slot after nudge_grace.
--
-- private.slots_taken counted every due booking in a restaurant's queue (woken by a freed slot, or due by its
-- own 10 s fallback) as a slot spoken for, for as long as it stayed due. A claim or a sweep hands a due booking
-- out within a poll or a sweep (5 s), after which it counts as handed out, and only until nudge_grace passes
-- (20261231150000). One nobody hands out (the sweeper's cron job stopped and no coordinator is running; a row a
-- platform's trigger refuses every update of; one past max_dispatches that claims pass over until a sweep
-- escalates it) counted for good: with max_parallel of them due, every new booking of the restaurant joined
-- the queue at insert, undispatched, and every wake found no free slot, so nothing was sent until a sweep ran
-- again. Found by a review of ops.release_stuck, whose release of such a queue sent nothing (20261231160000
-- counts in-progress bookings there instead). A due booking now counts only in the nudge_grace after it came
-- due, as a hand-out does after it was made. A restaurant whose queue stalled so then dispatches its next new
-- booking through pg_net, which still works without the sweeper, and the coordinator that request starts
-- claims the queue's due bookings after it. Such a queue also counts as stranded again (private.queue_is_served)
-- and a freed slot's wake finds a slot free, so both wake the bookings behind the unclaimed ones, up to
-- max_parallel each 10 s while nobody claims them. The same holds where claims only lag by more than 10 s (every
-- coordinator busy with another restaurant's drop): a restaurant with nothing in flight then dispatches up to
-- max_parallel new bookings ahead of its due ones, which are answered rate_limited when claimed. Measured
-- alternately with the code before, two runs each, no difference beyond the runs' spread: overload at 2 x
-- 100/s for 30 s, goodput while offered 94.0 and 99.4/s (84.2 and 89.6 before), re-dispatches 0.084 and 0.074
-- per booking (0.096, 0.084); the drop of 300, p95 3.38 and 3.64 s (3.13, 4.14), first attempts out of insert
-- order 0 % of pairs (0.1 %, 0 %).
--
-- private.slots_taken: as in 20261231150000, with the woken count bounded by nudge_grace.

create or replace function private.slots_taken(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql stable set search_path = '' as $$
declare
  cap integer := (private.settings_for(p_restaurant_id)).max_parallel;
  taken integer;
begin
  select count(*) into taken
    from (select 1 from public.bookings x
           where x.restaurant_id = p_restaurant_id
             and (x.assignment_state = 'assignment_in_progress'
                  or x.assignment_state = 'created' and x.deferred_since is null and x.next_attempt_at > p_now)
           limit cap) s;
  if taken >= cap then
    return taken;
  end if;
  -- Woken from the queue (or due by its fallback) in the last nudge_grace and not yet handed out: one due for
  -- longer that nobody claimed or swept holds no slot.
  taken := taken + (select count(*)
                      from (select 1 from public.bookings w
                             where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                               and private.is_queued(w.assignment_state) and w.next_attempt_at <= p_now
                               and w.next_attempt_at > p_now - private.nudge_grace()
                             limit cap - taken) s);
  if taken >= cap then
    return taken;
  end if;
  -- Handed out from the queue (claimed, or dispatched by a sweep) a moment ago and not begun since.
  taken := taken + (select count(*)
                      from (select 1 from public.bookings h
                             where h.restaurant_id = p_restaurant_id and h.deferred_since is not null
                               and private.handed_out_lately(h.last_dispatched_at, h.updated_at, p_now)
                               and private.is_queued(h.assignment_state) and h.next_attempt_at > p_now
                             limit cap - taken) s);
  if taken >= cap then
    return taken;
  end if;
  -- Sent back and nudged, or a retry claimed or dispatched by a sweep, a moment ago and not begun since, by
  -- the same test.
  return taken + (select count(*)
                    from (select 1 from public.bookings n
                           where n.restaurant_id = p_restaurant_id and n.deferred_since is null
                             and n.assignment_state = 'assignment_pending'
                             and private.handed_out_lately(n.last_dispatched_at, n.updated_at, p_now)
                             and n.next_attempt_at > p_now
                           limit cap - taken) s);
end $$;
comment on function private.slots_taken(uuid, timestamptz) is
  'How many of the restaurant''s concurrency slots are spoken for at p_now (bookings in progress, new ones dispatched and not yet begun, woken from the queue in the last nudge_grace and not yet begun, handed out (from the queue or not: claimed, dispatched by a sweep, nudged) in the last nudge_grace and not begun since), counted up to its max_parallel: callers compare it with that limit or with zero.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
