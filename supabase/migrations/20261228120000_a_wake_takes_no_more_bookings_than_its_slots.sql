-- A wake takes no more bookings from the queue than the slots it counted.
--
-- Both wakes (private.wake_next_deferred, as a booking leaves its slot; private.wake_stranded_queues, for a queue
-- with nothing in flight) made due the bookings of `where id in (select … limit n for update skip locked)`. The
-- planner may run such a subquery as the inner side of a nested-loop semi join, once per row of the outer scan,
-- and each run locks afresh: a row this very UPDATE has already changed is passed over by the lock (as one the
-- current command updated, SKIP LOCKED or not), so the next run's LIMIT reaches one booking further down the
-- queue. On a bookings table the planner takes for nearly empty (a new database, or one whose statistics are
-- stale) that is the plan it chooses, and a wake for two slots woke the whole queue: pgTAP 51 failed so, with
-- every queue woken in full, in 2 of 9 full runs on a fresh database. The extra bookings were claimed, found the
-- slots full and were queued again: dispatches for nothing, the polling the queue exists to avoid (the limit
-- itself held: a begin past it is refused). The bookings to wake are now chosen once, as an array (an uncorrelated
-- ARRAY(…) is planned as an InitPlan, run once per execution of the statement, where an IN (…) becomes a semi join
-- whose inner side may be run again), and then updated. Bodies as in 20261204020000 and 20261208000000 otherwise.

create or replace function private.wake_next_deferred()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  free integer;
begin
  -- Most restaurants have no queue most of the time: nothing to count then.
  if not exists (select 1 from public.bookings w
                  where w.restaurant_id = new.restaurant_id and w.deferred_since is not null) then
    return null;
  end if;
  free := (private.settings_for(new.restaurant_id)).max_parallel - private.slots_taken(new.restaurant_id, pg_catalog.now());
  if free > 0 then
    update public.bookings set next_attempt_at = pg_catalog.now()
     where id = any(array(select w.id from public.bookings w
                           where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                             and private.is_queued(w.assignment_state) and w.next_attempt_at > pg_catalog.now()
                           order by w.created_at, w.id
                           limit free
                           for update skip locked));
  end if;
  return null;
end $$;

create or replace function private.wake_stranded_queues(p_now timestamptz, p_restaurant_id uuid default null)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  r record;
  n integer;
  woken integer := 0;
begin
  -- The restaurants with a queue, one index probe each however long their queues (deferred_since is set only
  -- while a booking waits in a queued state: leaving them clears it), that look stranded: one query, as
  -- most queues have a booking in flight ahead of them (a claim loop that finds nothing due asks every time).
  for r in with recursive queues as (
             (select w.restaurant_id from public.bookings w
               where w.deferred_since is not null and p_restaurant_id is null
               order by w.restaurant_id limit 1)
             union all
             (select w.restaurant_id from public.bookings w
               where w.deferred_since is not null and w.restaurant_id = p_restaurant_id
               limit 1)
             union all
             select (select w.restaurant_id from public.bookings w
                      where w.deferred_since is not null and w.restaurant_id > q.restaurant_id
                      order by w.restaurant_id limit 1)
               from queues q where q.restaurant_id is not null and p_restaurant_id is null)
           select q.restaurant_id from queues q
            where q.restaurant_id is not null and not private.queue_is_served(q.restaurant_id, p_now)
  loop
    -- One waker per queue at a time, and the next one looks after it has committed (the statements below
    -- read afresh): two claim loops must not both take the queue for stranded and wake it twice over.
    continue when not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('restaurant_queue', r.restaurant_id));
    continue when private.queue_is_served(r.restaurant_id, p_now);
    update public.bookings set next_attempt_at = p_now
     where id = any(array(select w.id from public.bookings w
                           where w.restaurant_id = r.restaurant_id and w.deferred_since is not null
                             and private.is_queued(w.assignment_state) and w.next_attempt_at > p_now
                           order by w.created_at, w.id
                           limit (private.settings_for(r.restaurant_id)).max_parallel
                           for update skip locked));
    get diagnostics n = row_count;
    woken := woken + n;
  end loop;
  return woken;
end $$;
