-- A change to many bookings at once joins the restaurant's queue.
--
-- A review of what one restaurant can do to another found that a platform's one UPDATE over many of a
-- restaurant's bookings (an evening moved by 15 minutes, a buffer added to every booking ahead) sent each
-- changed booking back to be planned with an HTTP request of its own: thousands of pg_net requests at once,
-- in the one queue every restaurant's new bookings wait in, and as many coordinator calls, all but the
-- restaurant's few slots answered rate_limited and polled again every 10 s. A booking sent back to be planned
-- now goes as a new booking does: nudged while the restaurant has a free slot, and otherwise into its queue,
-- woken when a slot frees, or by the queue's own 10 s fallback, as a queued new booking is. The bookings
-- this transaction already sent take a slot each, as new bookings inserted by one statement do, so one
-- statement sends as many as the restaurant has free slots. Not counted, as before: a booking sent back and
-- not yet begun, once its transaction has committed (private.slots_taken counts new bookings only), so
-- changes committed one at a time (a PATCH per booking) each send a request until the coordinator has begun
-- the earlier ones; nor, within the transaction, by the insert of a new booking, or by the bookings a seated
-- party's longer stay sends back (as many as the seated parties).
--
-- private.reassign_changed_booking: body as in 20261227210000, sending back through private.queue_or_nudge.

-- Sends a booking just returned to be planned to the coordinator, or into its restaurant's queue when its
-- slots are taken or others already wait there (prepare_new_booking's rule for a new booking). The ones this
-- transaction sent (counted per restaurant in pipeline.sent_back, a setting that ends with the transaction)
-- take a slot each: none of them can begin before the transaction commits. Says whether it was queued.
create function private.queue_or_nudge(p_booking_id uuid, p_restaurant_id uuid, p_trigger text)
returns boolean language plpgsql set search_path = '' as $$
declare
  settings private.pipeline_settings := private.settings_for(p_restaurant_id);
  sent jsonb;
  sent_here integer;
  taken integer;
begin
  -- Only this function writes the setting; a value set by anyone else (a session's SET left on a pooled
  -- connection) that is not its shape counts as nothing sent, and never lowers the count below it.
  begin
    sent := coalesce(nullif(pg_catalog.current_setting('pipeline.sent_back', true), ''), '{}')::jsonb;
    if pg_catalog.jsonb_typeof(sent) <> 'object' then
      sent := '{}'::jsonb;
    end if;
    sent_here := greatest(0, coalesce((sent ->> p_restaurant_id::text)::integer, 0));
  exception when others then
    sent := '{}'::jsonb;
    sent_here := 0;
  end;
  taken := sent_here + private.slots_taken(p_restaurant_id, pg_catalog.now());
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
  perform pg_catalog.set_config('pipeline.sent_back',
    (sent || pg_catalog.jsonb_build_object(p_restaurant_id::text, sent_here + 1))::text, true);
  return false;
end $$;

create or replace function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed boolean := (new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
                     is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes);
  returned boolean := new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show');
  reseated boolean := new.status = 'checked_in' and old.status in ('completed', 'no_show');
  reviewed boolean;
begin
  -- In review on the engine's verdict, a change is a new request. Not an ops call's own change in this
  -- statement (stamped by act_as).
  reviewed := new.assignment_state = 'manual_review' and changed and new.status = 'pending'
              and new.start_at > pg_catalog.now()
              and pg_catalog.split_part(new.manual_review_reason, ':', 1)
                  in ('no_table_fits', 'party_too_large', 'party_too_small', 'outside_service_hours',
                      'exact_search_budget_exhausted')
              and pg_catalog.split_part(coalesce(pg_catalog.current_setting('pipeline.actor', true), ''), '|', 1)
                  <> pg_catalog.statement_timestamp()::text;
  if not reviewed and (new.assignment_state <> 'confirmed' or not (changed or returned or reseated)) then
    return null;
  end if;
  -- Changed since by an earlier row's trigger of the same statement (a seated party's longer stay sent it back
  -- to be planned): nothing is left to do, and its version is no longer this row's.
  if (select x.assignment_state_version from public.bookings x where x.id = new.id) <> new.assignment_state_version then
    return null;
  end if;
  if reviewed then
    perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
      'booking_changed: time, party size or buffers changed while in manual review',
      pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                    'start_changed', new.start_at is distinct from old.start_at), 'system');
    perform private.queue_or_nudge(new.id, new.restaurant_id, 'modification');
    return null;
  end if;
  -- A visit over or missed is left as it is; checked in again (a late guest, a correction), it holds its
  -- tables for the stay it now has, as a seated party whose stay changes does.
  if new.status in ('completed', 'no_show') then
    return null;
  end if;
  if new.status = 'checked_in' then
    if changed or reseated then
      if not private.hold_seated_stay(new) then
        perform private.record_event('assignment.ops', 'booking.seated_stay_overlaps', 'warning',
          pg_catalog.jsonb_build_object('reason', 'seated_stay_overlaps',
                                        'tables', (select pg_catalog.count(*) from public.booking_table_assignments a
                                                    where a.booking_id = new.id and a.released_at is null)),
          new.restaurant_id, new.id);
      end if;
    end if;
    return null;
  end if;
  -- Back from its visit: what it holds must still be its stay under the rules. A visit already over with no
  -- hold starting later can seat no one else and is left as it is.
  if not changed and (private.holds_its_stay(new)
                      or (new.end_at <= pg_catalog.now()
                          and not exists (select 1 from public.booking_table_assignments a
                                           where a.booking_id = new.id and a.released_at is null
                                             and pg_catalog.lower(a.during) > pg_catalog.now()))) then
    return null;
  end if;
  perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
    case when changed then 'booking_changed: time, party size or buffers changed after confirmation'
         else 'booking_changed: back to confirmed from ' || old.status || ', and its tables no longer hold its stay' end,
    pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                  'start_changed', new.start_at is distinct from old.start_at), 'system');
  perform private.queue_or_nudge(new.id, new.restaurant_id, 'modification');
  return null;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
