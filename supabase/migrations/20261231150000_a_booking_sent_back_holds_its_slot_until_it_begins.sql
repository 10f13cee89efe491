-- A booking sent back holds its slot until it begins, whichever transaction sent it.
--
-- A booking sent back to be planned (a platform's change to a confirmed booking, an operator's retry, a floor
-- plan change, a seated party's longer stay) is nudged: a request to the coordinator, due again in
-- nudge_grace if none comes. private.slots_taken did not count it: it counts new bookings, bookings in
-- progress and those handed out from the queue, and a nudge left no mark a sent-back booking could be told
-- by from one waiting out a retry's backoff. So a change committed while one sent back a moment before was on
-- its way saw its slot free and sent another request (a platform's PATCH per booking of an evening sent one
-- each, all but the slots' worth answered rate_limited), a new booking inserted meanwhile was dispatched
-- rather than queued, and a wake could hand out a booking more than the free slots. 20261231100000 counted
-- the sends of one transaction in a setting that ended with it, which covered one UPDATE over many bookings
-- and nothing else.
--
-- private.nudge now marks what it sends as handed out (last_dispatched_at, as a claim or a sweep does), and
-- private.slots_taken counts a booking waiting for its attempt (assignment_pending, not in the queue) that was
-- handed out lately and not touched since, by the test it applies to the queue's hand-outs: a nudge, and a
-- retry a claim or a sweep handed out, until its attempt begins (a begin touches the row) or nudge_grace
-- passes (its request was lost: it is due again, and handed out again). A retry waiting out its backoff was
-- handed nothing since it was last touched, and still takes no slot. private.queue_or_nudge then needs no
-- count of its own: the bookings its transaction sent are rows it reads, marked. Any later write to the row
-- before its attempt begins (a platform's change of its notes, say) ends the hold early, as for the queue's
-- hand-outs: the next booking may then be sent while this one is on its way, and answered rate_limited.
--
-- Counting them reads a partial index of the bookings waiting for an attempt outside the queue, by restaurant
-- and hand-out; on a large hosted database build it first with CREATE INDEX CONCURRENTLY under the same name
-- (docs/configuration.md), and this migration keeps it (it refuses one a build left invalid, or built on
-- other columns). It waits at most 10 s for the table.
--
-- A sweep marks its dispatch before it knows whether a request went out (private.sweep, 20261230060000), so
-- a retry it could not send (no coordinator URL in Vault) holds a slot for those 10 s; the sweep escalates it
-- after max_dispatches such tries anyway.
--
-- private.nudge: 20261201101500's, dispatching first and marking the hand-out only when a request went out;
-- private.slots_taken: as in 20261218010000, with the last count added, both hand-out counts by
-- private.handed_out_lately (20261231140000); private.queue_or_nudge: as in
-- 20261231100000, without the setting.

set lock_timeout = '10s';
create index if not exists bookings_sent_back_idx on public.bookings (restaurant_id, last_dispatched_at)
  where deferred_since is null and assignment_state = 'assignment_pending';
select private.refuse_indexes_not_as_built(pg_catalog.jsonb_build_object(
  'bookings_sent_back_idx',
  'public.bookings USING btree (restaurant_id, last_dispatched_at) WHERE ((deferred_since IS NULL) AND (assignment_state = ''assignment_pending''::text))'));
reset lock_timeout;

create or replace function private.nudge(p_booking_id uuid, p_trigger text)
returns void language plpgsql set search_path = '' as $$
declare
  -- pg_net sends it once the transaction commits, so it may be queued before the row is written.
  request bigint := private.dispatch_booking(p_booking_id, p_trigger);
begin
  -- Handed out as a claim or a sweep hands a booking out, so that it holds a slot until it begins; not when
  -- nothing was sent (no coordinator URL or secret in Vault, pg_net refused it), which no attempt follows.
  update public.bookings
     set next_attempt_at = pg_catalog.now() + private.nudge_grace(),
         last_dispatched_at = case when request is not null then pg_catalog.now() else last_dispatched_at end
   where id = p_booking_id;
end $$;

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
  -- Woken from the queue and not yet handed out.
  taken := taken + (select count(*)
                      from (select 1 from public.bookings w
                             where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                               and private.is_queued(w.assignment_state) and w.next_attempt_at <= p_now
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
  'How many of the restaurant''s concurrency slots are spoken for at p_now (bookings in progress, new ones dispatched and not yet begun, woken from the queue and not yet begun, handed out (from the queue or not: claimed, dispatched by a sweep, nudged) in the last nudge_grace and not begun since), counted up to its max_parallel: callers compare it with that limit or with zero.';

-- Sends a booking just returned to be planned to the coordinator, or into its restaurant's queue when its
-- slots are taken or others already wait there (prepare_new_booking's rule for a new booking). The ones sent
-- before it, by this transaction or another, are counted by private.slots_taken (private.nudge marks them).
-- Says whether it was queued.
create or replace function private.queue_or_nudge(p_booking_id uuid, p_restaurant_id uuid, p_trigger text)
returns boolean language plpgsql set search_path = '' as $$
declare
  settings private.pipeline_settings := private.settings_for(p_restaurant_id);
  taken integer := private.slots_taken(p_restaurant_id, pg_catalog.now());
begin
  if taken >= settings.max_parallel
     or taken > 0 and exists (select 1 from public.bookings w
                               where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                                 and w.id <> p_booking_id and private.is_queued(w.assignment_state)) then
    update public.bookings
       set deferred_since = pg_catalog.now(),
           next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(
             secs => least(settings.rate_limited_delay_ms / 1000.0, settings.max_deferral_seconds))
     where id = p_booking_id;
    return true;
  end if;
  perform private.nudge(p_booking_id, p_trigger);
  return false;
end $$;

comment on column public.bookings.last_dispatched_at is
  'When the pipeline last handed the booking to a coordinator: dispatched by the sweeper, claimed by a claim loop, or nudged (sent back to be planned, retried or released by an operator).';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
