-- A new booking waits behind its restaurant's queue.
--
-- At insert a booking took a slot whenever the slot count had one free, even with older bookings still
-- waiting in the restaurant's queue. Such a moment comes often in a rush: a woken booking the coordinator has
-- claimed but not yet leased is counted neither as woken nor as in progress. The new booking then jumped the
-- queue, and worse, it held its slot while its dispatch was on the way; the queue behind it was not woken for
-- a slot it held. With pg_net delivering in batches up to a second apart, as hosted, that was most of the
-- first second of a reservation drop: of 300 bookings inserted within a second, 13 were begun in that second
-- and the rest waited for the queue's fallback (p95 from insert 2.08-2.15 s in three runs, against 1.4-1.9 s
-- with dispatch at once).
--
-- Now a booking joins the queue at insert also when its restaurant has bookings waiting in it, in the order
-- it came; it is woken like them, when a slot frees. A restaurant with no queue is unchanged: a new booking is
-- dispatched as long as a slot is free. Nothing can strand it: the bookings ahead of it are due or will be
-- woken by a slot, and each of them wakes the next one when it leaves its slot, as before; a queue nobody
-- wakes is still woken by the claim and the sweeper.

-- Body as in 20261210160000, plus the queue check.
create or replace function private.prepare_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  settings private.pipeline_settings;
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
  end if;
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later; one that
  -- joins a queue is due when woken, or after the fallback.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  if exists (select 1 from public.bookings w
              where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                and private.is_queued(w.assignment_state))
     or private.slots_taken(new.restaurant_id, pg_catalog.now()) >= settings.max_parallel then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(
      secs => least(settings.rate_limited_delay_ms / 1000.0, settings.max_deferral_seconds));
  end if;
  return new;
end $$;
