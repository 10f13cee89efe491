-- A wake passes over a booking already handed out.
--
-- A booking woken from its restaurant's queue is claimed by a coordinator's claim loop (or dispatched by a
-- sweep): handed out, its next look pushed out by the claim's visibility, and it stays in the queue until its
-- attempt begins. private.slots_taken counts it as a slot spoken for during that time (20261218010000). But
-- private.queue_head, asked by the next wake for the longest-waiting bookings not woken yet, took it too: it
-- waits in the queue, and its next look is in the future. So a slot freed while the queue's head was on its
-- way woke that head a second time (due again, claimable by another claim loop) instead of the booking behind
-- it, which waited for the next slot to free or for its own fallback (10 s): a slot left empty while
-- bookings waited, once for every booking in flight at the queue's head. Found reading a reservation drop's
-- profile, where three slots were in use only part of the time while the queue waited.
--
-- The head now passes over a booking handed out lately and not begun since, by the test private.slots_taken
-- and private.queue_is_served already apply (last_dispatched_at within nudge_grace, the row not touched
-- since), named here as private.handed_out_lately. Order, locks and everything else as in 20261231120000.

-- Whether a booking was handed to a coordinator within nudge_grace before p_now and has not been touched
-- since, so its attempt has not begun: null when it was never handed out. An SQL expression with no settings
-- of its own, and stable as timestamptz arithmetic is, so that the planner inlines it into the queries that
-- call it and reads an index on last_dispatched_at through it (one it cannot inline hides the range).
create function private.handed_out_lately(p_last_dispatched_at timestamptz, p_updated_at timestamptz,
                                          p_now timestamptz)
returns boolean language sql stable as $$
  select p_last_dispatched_at > p_now - private.nudge_grace() and p_updated_at <= p_last_dispatched_at
$$;

create or replace function private.queue_head(p_restaurant_id uuid, p_count integer, p_now timestamptz)
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
       -- Handed out and not begun since: a slot it already speaks for.
       and not coalesce(private.handed_out_lately(w.last_dispatched_at, w.updated_at, p_now), false)
       for update skip locked;
    if found then
      head := head || candidate;
      exit when pg_catalog.cardinality(head) >= p_count;
    end if;
  end loop;
  return head;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
