-- A restaurant's slots and queue are counted on their own indexes, whatever the statistics say.
--
-- Each booking a statement inserts or sends back to be planned counts its restaurant's slots
-- (private.slots_taken) and, when some but not all are taken, asks whether anyone waits in its queue
-- (private.prepare_new_booking, private.queue_or_nudge). Both are meant for small partial indexes: the
-- bookings in flight (bookings_in_flight_idx) and the queue (bookings_queue_order_idx). Between two analyzes
-- of a busy database the planner can cost those as if every page were read: thousands of bookings passed
-- through them and left, the pages stay until a vacuum, and the last analyze saw two or three bookings in
-- them. Where it also takes a restaurant for one booking or two (many small restaurants, and one it has not
-- seen, a restaurant opening its book), the restaurant's index by start time looks cheaper, and each count
-- read the restaurant's whole book. A platform's statement moving a day of 400 confirmed bookings read
-- 165,190 bookings (413 a row; about 20 a row on the partial indexes), so 5,000 read about 25 million; pgTAP
-- 170 failed so whenever it ran just after an integration test, and 182 builds such statistics.
--
-- Now each is read in an order only its own index gives without a sort, with sorting and sequential reads off
-- as the other windows of the count are (20261231500000): the bookings in flight by the time they were made,
-- on an index of them by restaurant and that time (bookings_in_flight_order_idx, which replaces
-- bookings_in_flight_idx); the queue by created_at then id, on the queue's own index, through
-- private.queue_waits. An EXISTS drops its ORDER BY, so that one is a scalar subquery. The counts, and who
-- joins a queue, are unchanged.
--
-- Building an index reads its table once and holds off writes to it until the migration commits: on a large
-- hosted database, build it first with CREATE INDEX CONCURRENTLY under the same name (docs/configuration.md);
-- this migration keeps it (it refuses one a build left invalid, or built otherwise), waits at most 10 s for
-- the table, and drops the index it replaces last.
--
-- private.prepare_new_booking: body as in 20261231500000, asking private.queue_waits; private.queue_or_nudge:
-- as in 20261231500000, the same. private.slots_taken: as in 20261231500000, the bookings in flight read in
-- order.

set lock_timeout = '10s';
create index if not exists bookings_in_flight_order_idx on public.bookings (restaurant_id, created_at)
  where assignment_state = 'assignment_in_progress' or assignment_state = 'created' and deferred_since is null;

select private.refuse_indexes_not_as_built(pg_catalog.jsonb_build_object(
  'bookings_in_flight_order_idx',
  'public.bookings USING btree (restaurant_id, created_at) WHERE ((assignment_state = ''assignment_in_progress''::text) OR ((assignment_state = ''created''::text) AND (deferred_since IS NULL)))'));

-- Whether a booking other than p_except waits in the restaurant's queue (see the header).
create function private.queue_waits(p_restaurant_id uuid, p_except uuid default null)
returns boolean language sql stable set search_path = '' set enable_seqscan = off set enable_sort = off
set enable_incremental_sort = off set jit = off as $$
  select (select w.id from public.bookings w
           where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
             and w.id is distinct from p_except and private.is_queued(w.assignment_state)
           order by w.created_at, w.id
           limit 1) is not null;
$$;
comment on function private.queue_waits(uuid, uuid) is
  'Whether a booking other than p_except waits in the restaurant''s queue, read in the queue''s order on its own index whatever the planner''s statistics (20261231530000).';

create or replace function private.prepare_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  settings private.pipeline_settings;
  taken integer;
  given public.bookings := new;
begin
  if new.assignment_state <> 'created' or new.assignment_state_version <> 1 then
    raise exception using errcode = 'AS004',
      message = 'a new booking starts in assignment state "created" at version 1',
      hint = 'Leave assignment_state and assignment_state_version to their defaults.';
  end if;
  if new.status <> 'pending' then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('a new booking starts pending, not "%s": the pipeline confirms it', new.status);
  end if;
  -- A client may not backdate it: a booking that looks idle for an hour from its insert is listed as stuck,
  -- and releasing it resets its dispatch count, which would get round the escalation after max_dispatches.
  new.updated_at := pg_catalog.now();
  if new.start_at is not null and new.party_size is not null then
    new := private.apply_turn_policy(new, new.end_at is null);
    -- Buffers the insert gives are the platform's (a 0 is the columns' default: left out).
    if given.buffer_before_minutes > 0 then
      new.buffer_before_minutes := given.buffer_before_minutes;
    end if;
    if given.buffer_after_minutes > 0 then
      new.buffer_after_minutes := given.buffer_after_minutes;
    end if;
  end if;
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later; one that
  -- joins a queue is due when woken, or after the fallback.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  taken := private.slots_taken(new.restaurant_id, pg_catalog.now());
  if taken >= settings.max_parallel
     or taken > 0 and private.queue_waits(new.restaurant_id) then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := private.queue_tail_due(new.restaurant_id, settings);
  end if;
  return new;
end $$;

alter function private.prepare_new_booking() set enable_seqscan = off set jit = off;

create or replace function private.queue_or_nudge(p_booking_id uuid, p_restaurant_id uuid, p_trigger text)
returns boolean language plpgsql set search_path = '' as $$
declare
  settings private.pipeline_settings := private.settings_for(p_restaurant_id);
  taken integer := private.slots_taken(p_restaurant_id, pg_catalog.now());
begin
  if taken >= settings.max_parallel
     or taken > 0 and private.queue_waits(p_restaurant_id, p_booking_id) then
    update public.bookings
       set deferred_since = pg_catalog.now(), next_attempt_at = private.queue_tail_due(p_restaurant_id, settings)
     where id = p_booking_id;
    return true;
  end if;
  perform private.nudge(p_booking_id, p_trigger);
  return false;
end $$;

create or replace function private.slots_taken(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql stable set search_path = '' set enable_seqscan = off set enable_sort = off
set jit = off as $$
declare
  cap integer := (private.settings_for(p_restaurant_id)).max_parallel;
  taken integer;
begin
  select count(*) into taken
    from (select 1 from public.bookings x
           where x.restaurant_id = p_restaurant_id
             and (x.assignment_state = 'assignment_in_progress'
                  or x.assignment_state = 'created' and x.deferred_since is null and x.next_attempt_at > p_now)
           -- In the order of the in-flight index, which no other index of the restaurant gives (see the header).
           order by x.created_at
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
                             -- In the order of the window's own index, so its range bounds the read (see the header).
                             order by w.next_attempt_at
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
                             order by h.last_dispatched_at
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
                           order by n.last_dispatched_at
                           limit cap - taken) s);
end $$;

drop index public.bookings_in_flight_idx;
reset lock_timeout;

revoke all on all routines in schema private from public, anon, authenticated;
