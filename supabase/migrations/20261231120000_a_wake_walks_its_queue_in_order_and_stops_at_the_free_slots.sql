-- A wake walks its queue in order and stops at the free slots.
--
-- A profile of a reservation drop (300 bookings for one restaurant inserted within a second, three slots)
-- found the wake that runs when a booking leaves its slot (wake_next_deferred, and wake_stranded_queues
-- alike) taking about 3.6 ms a call, under the restaurant's lock that every begin and commit of the
-- restaurant waits for. Its query picked the queue's bookings not yet woken through the index of due times,
-- checked each (private.is_queued, private.failed_lately) and sorted them all to take the first one to three:
-- the whole queue, each time a slot freed. And private.failed_lately, run for each, could read every event
-- of the last minute: its generic plan took the index of event times, not the booking's (2,581 events read
-- for one call on a database fresh from a drop).
--
-- private.queue_head now walks the queue in its order (an index of the queue by restaurant, time the booking
-- was made and id, which replaces the one without the id) and stops once it has the bookings asked for, locking each as
-- before (a row another transaction holds is passed over). The row failures the sweeper records get a
-- partial index of their own, by booking, so private.failed_lately reads a handful of index entries. The
-- order, the bookings chosen and the locks are unchanged.
--
-- Building an index reads its table once and holds off writes to it until the migration commits: on a large
-- hosted database, build the two first with CREATE INDEX CONCURRENTLY under the same names
-- (docs/configuration.md), and this migration keeps them (it refuses one a build left invalid, or built on
-- other columns). It waits at most 10 s for each table, and drops the index the first replaces last.
--
-- private.wake_next_deferred: body as in 20261230060000; private.wake_stranded_queues: as in 20261230060000;
-- each takes its bookings from private.queue_head.

set lock_timeout = '10s';
create index if not exists bookings_queue_order_idx on public.bookings (restaurant_id, created_at, id)
  where deferred_since is not null;
create index if not exists observability_events_row_failed_idx on public.observability_events (booking_id, created_at)
  where event_type = 'sweeper.row_failed';

-- Refuses (AS005) when an index of public named in p_expected (name: its definition after "ON ") is invalid,
-- as a concurrent build that did not finish leaves it, or was built otherwise: `create index if not exists`
-- keeps either, and neither would serve as the migration's own. For migrations that let an operator build
-- their indexes first (docs/configuration.md); 20261228060000 checks its own inline.
create function private.refuse_indexes_not_as_built(p_expected jsonb)
returns void language plpgsql set search_path = '' as $$
declare
  wrong text;
begin
  select pg_catalog.string_agg(e.key, ', ' order by e.key) into wrong
    from pg_catalog.jsonb_each_text(p_expected) e
    join pg_catalog.pg_class c on c.relname = e.key and c.relnamespace = 'public'::regnamespace
    join pg_catalog.pg_index i on i.indexrelid = c.oid
   where not i.indisvalid or pg_catalog.pg_get_indexdef(c.oid) <> pg_catalog.format('CREATE INDEX %s ON %s', e.key, e.value);
  if wrong is not null then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('index %s is invalid (a concurrent build that did not finish) or not as this migration builds it', wrong),
      hint = 'Drop it (drop index concurrently …) and build it again as docs/configuration.md gives it, or let this migration build it.';
  end if;
end $$;

select private.refuse_indexes_not_as_built(pg_catalog.jsonb_build_object(
  'bookings_queue_order_idx',
  'public.bookings USING btree (restaurant_id, created_at, id) WHERE (deferred_since IS NOT NULL)',
  'observability_events_row_failed_idx',
  'public.observability_events USING btree (booking_id, created_at) WHERE (event_type = ''sweeper.row_failed''::text)'));

-- Up to p_count of a restaurant's queued bookings not woken yet and not failed in the last minute, first in
-- the queue's order (the order the bookings were made), each locked (one another transaction holds is passed over, as `for update skip locked`).
create function private.queue_head(p_restaurant_id uuid, p_count integer, p_now timestamptz)
returns uuid[] language plpgsql set search_path = '' as $$
declare
  candidate uuid;
  head uuid[] := '{}';
begin
  if p_count is null or p_count < 1 then
    return head;
  end if;
  for candidate in select w.id from public.bookings w
                    where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                    order by w.created_at, w.id loop
    perform 1 from public.bookings w
     where w.id = candidate and w.deferred_since is not null and private.is_queued(w.assignment_state)
       and w.next_attempt_at > p_now and not private.failed_lately(w.id, p_now)
       for update skip locked;
    if found then
      head := head || candidate;
      exit when pg_catalog.cardinality(head) >= p_count;
    end if;
  end loop;
  return head;
end $$;

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
    perform private.wake_bookings(private.queue_head(new.restaurant_id, free, pg_catalog.now()), pg_catalog.now());
  end if;
  return null;
end $$;

create or replace function private.wake_stranded_queues(p_now timestamptz, p_restaurant_id uuid default null)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  r record;
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
    woken := woken + private.wake_bookings(
      private.queue_head(r.restaurant_id, (private.settings_for(r.restaurant_id)).max_parallel, p_now), p_now);
  end loop;
  return woken;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;

drop index if exists public.bookings_deferred_idx;
reset lock_timeout;
