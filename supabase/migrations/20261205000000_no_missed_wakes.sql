-- A booking that waits for a slot is never left waiting for a wake that already happened.
--
-- The queue (20261204020000) wakes a restaurant's longest-waiting booking when a slot frees. The wake runs in
-- the transaction that frees the slot, so it sees only the waiting bookings committed before it: a booking
-- that decided to wait while that transaction was committing was seen by neither side and slept until the
-- fallback (10 s), although its slot was free. Two paths could do that:
--   * assignment_begin deferring a booking (rate_limited) while assignment_fail freed the slot: begin counts
--     the slots under the restaurant's lock and assignment_commit holds that lock too, but assignment_fail did
--     not take it. It now does, first, in the same order as begin and commit (restaurant, then booking), so a
--     begin that counts the slots waits for a failing attempt to commit and sees its slot free;
--   * a new booking joining the queue at insert, which takes no lock (an insert must never wait for the
--     coordinators). The first booking of a queue is the only one at risk: a booking behind others is woken
--     by them in turn. So the first one looks again by itself shortly (the claim loop's own delay for a new
--     booking, 250 ms): the claim loop of a running coordinator then takes it and assignment_begin decides
--     under the lock whether it runs or waits. The bookings behind it keep the fallback.
-- A slot freed by the sweeper (an expired lease) or by ops still wakes without that lock; a booking missed
-- there waits at most the fallback, as before.

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
  -- joins a queue is due when woken, or after the fallback; the first of a queue looks again shortly.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  if private.slots_taken(new.restaurant_id, pg_catalog.now()) >= settings.max_parallel then
    new.deferred_since := pg_catalog.now();
    if exists (select 1 from public.bookings w
                where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                  and private.is_queued(w.assignment_state)) then
      new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(secs => settings.rate_limited_delay_ms / 1000.0);
    else
      new.next_attempt_at := pg_catalog.now() + private.claim_new_after();
    end if;
  end if;
  return new;
end $$;

create or replace function public.assignment_fail(
  p_booking_id uuid,
  p_lease_token uuid,
  p_kind text,
  p_reason text,
  p_duration_ms integer default null,
  p_details jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
  restaurant uuid;
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
  -- The restaurant's lock before the booking's row, as assignment_begin and assignment_commit take them: the
  -- slot this attempt frees is then seen by any begin counting the slots.
  select x.restaurant_id into restaurant from public.bookings x where x.id = p_booking_id;
  if found then
    perform private.lock_restaurant(restaurant);
  end if;
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  perform private.record_shadow(b, p_shadow);
  if p_kind in ('error', 'invalid_data') then
    if p_kind = 'error' then
      perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    else
      perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
    end if;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.error', 'error',
      pg_catalog.jsonb_build_object('message', pg_catalog.left(reason, 500), 'attempts', b.attempt_count,
                                    'kind', p_kind, 'counts_toward_breaker', p_kind = 'error'),
      b.restaurant_id, b.id);
  else
    perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  end if;
  if pg_catalog.strpos(reason, ':') = 0 then
    reason := p_kind || ': ' || reason;
  end if;
  -- invalid_data is retried and escalated exactly like an error; only the breaker tells them apart.
  return private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, reason,
                             p_duration_ms, p_details, p_now);
end $$;

revoke all on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz)
  from public, anon, authenticated, service_role;
grant execute on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz)
  to service_role;
revoke all on all routines in schema private from public, anon, authenticated;
