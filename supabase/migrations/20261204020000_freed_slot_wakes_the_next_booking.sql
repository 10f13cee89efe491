-- A booking that finds its restaurant's concurrency slots full waits to be woken instead of polling. Until now
-- it was due again 200 ms later and every coordinator that claimed it found the slots still full: in a
-- reservation drop (300 bookings for one restaurant within a second) that was four to six dispatches per
-- booking, each a full assignment_begin under the restaurant's lock. Now:
--   * a restaurant's slots are spoken for by its bookings in progress, those dispatched and not yet begun,
--     and those woken from its queue and not yet begun (private.slots_taken);
--   * whenever a booking frees one (leaves assignment_in_progress, however it leaves, or ends in review or
--     cancelled before it ran, queued or not), the restaurant's longest-waiting deferred bookings are made due
--     at once, as many as slots are free, so the claim loops of running coordinators take them next;
--   * a new booking for a restaurant whose slots are all spoken for joins the queue at once, deferred and not
--     dispatched; the bookings ahead wake it as they leave their slots;
--   * rate_limited_delay_ms is only the fallback for a wake that was missed (a booking that chose to wait
--     while the slot it waited for was freed, before it committed): 10 s by default.
-- The queue is first come, first served by booking creation.

create index bookings_deferred_idx on public.bookings (restaurant_id, created_at) where deferred_since is not null;
-- The woken ones among them (due now), counted on every insert and every wake without reading the whole queue.
create index bookings_woken_idx on public.bookings (restaurant_id, next_attempt_at) where deferred_since is not null;
-- The bookings holding or about to take a slot, counted on every insert: a handful per restaurant, however
-- many wait in its queue.
create index bookings_in_flight_idx on public.bookings (restaurant_id)
  where assignment_state = 'assignment_in_progress' or (assignment_state = 'created' and deferred_since is null);

-- How many of a restaurant's slots are spoken for at p_now: bookings in progress, dispatched and not yet begun,
-- and woken from the queue and not yet begun.
create function private.slots_taken(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql stable set search_path = '' as $$
begin
  return (select count(*) from public.bookings x
           where x.restaurant_id = p_restaurant_id
             and (x.assignment_state = 'assignment_in_progress'
                  or x.assignment_state = 'created' and x.deferred_since is null and x.next_attempt_at > p_now))
       + (select count(*) from public.bookings w
           where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
             and private.is_queued(w.assignment_state) and w.next_attempt_at <= p_now);
end $$;

-- Wake as many of the longest-waiting deferred bookings as slots are free: counted afresh each time, so a wake
-- used up by a booking that then left without running is made good by the next one.
create function private.wake_next_deferred()
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
     where id in (select w.id from public.bookings w
                   where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                     and private.is_queued(w.assignment_state) and w.next_attempt_at > pg_catalog.now()
                   order by w.created_at, w.id
                   limit free
                   for update skip locked);
  end if;
  return null;
end $$;
create trigger wake_next_deferred after update of assignment_state on public.bookings
  for each row when (old.assignment_state = 'assignment_in_progress' and new.assignment_state <> 'assignment_in_progress'
                     or old.assignment_state in ('created', 'capacity_verified', 'assignment_pending')
                        and new.assignment_state in ('manual_review', 'cancelled'))
  execute function private.wake_next_deferred();

-- prepare_new_booking as before, plus the queue.
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
  if new.start_at is not null and new.party_size is not null then
    new := private.apply_turn_policy(new, new.end_at is null);
  end if;
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later; one that
  -- joins a queue is due when woken, or after the fallback.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  if private.slots_taken(new.restaurant_id, pg_catalog.now()) >= settings.max_parallel then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(secs => settings.rate_limited_delay_ms / 1000.0);
  end if;
  return new;
end $$;

create or replace function private.dispatch_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.deferred_since is null then
    perform private.dispatch_booking(new.id, 'insert');
  end if;
  return null;
end $$;

alter table private.pipeline_settings alter column rate_limited_delay_ms set default 10000;
update private.pipeline_settings set rate_limited_delay_ms = 10000 where rate_limited_delay_ms = 200;
comment on column private.pipeline_settings.rate_limited_delay_ms is
  'How long a booking that found every concurrency slot taken waits at most; a slot that frees wakes the longest-waiting booking at once.';

revoke all on all routines in schema private from public, anon, authenticated;
