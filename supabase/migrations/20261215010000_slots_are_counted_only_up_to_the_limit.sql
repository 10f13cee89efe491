-- A restaurant's concurrency slots are counted only up to its limit, so counting them costs the same however
-- long its queue.
--
-- private.slots_taken counts the bookings in flight and those woken from the queue and not yet begun: every
-- new booking's insert asks it, and so does every booking leaving its slot (the wake). A booking that has
-- waited out its fallback (rate_limited_delay_ms) is due, and counts as woken, so under sustained overload the
-- count took in most of the queue: in the overload benchmark (300 bookings/s offered for 60 s, 10
-- restaurants) the buffers it read per call grew from 101 to 325 between 25 s and 60 s, the insert's from 138
-- to 351, and goodput fell from 108/s to 53/s while the inserts went on, recovering to 130/s once they stopped
-- (pg_stat_statements, nested, sampled twice during the run).
--
-- Every caller compares the count with the restaurant's max_parallel (the insert's queue decision and the
-- wake's number of free slots) or with zero (private.queue_is_served), so the count stops at max_parallel:
-- the same answers, from at most max_parallel index entries.

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
  return taken + (select count(*)
                    from (select 1 from public.bookings w
                           where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                             and private.is_queued(w.assignment_state) and w.next_attempt_at <= p_now
                           limit cap - taken) s);
end $$;
comment on function private.slots_taken(uuid, timestamptz) is
  'How many of the restaurant''s concurrency slots are spoken for at p_now (bookings in progress, dispatched and not yet begun, woken from the queue and not yet begun), counted up to its max_parallel: callers compare it with that limit or with zero.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
