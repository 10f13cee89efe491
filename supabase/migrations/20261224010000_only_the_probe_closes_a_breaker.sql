-- While a restaurant's breaker is open or half-open, only its probe's result moves it.
--
-- A review of the breaker found that any attempt's result did: with several bookings in progress, the error
-- that opened the breaker could be followed a moment later by a success (or a no-fit) of an attempt let in
-- before it opened, which closed it again at once, with no cool-down and no probe; and while the probe ran,
-- such an older attempt's success closed the breaker before the probe had said anything, while its error (its
-- lease running out in the sweeper included) opened it again with a fresh cool-down. Now a result counts when
-- the breaker is closed (a success resets the count, an error adds one, as before) or when it is the probe's
-- (a success closes the breaker, an error opens it again); any other result while it is open or half-open is
-- the result of an attempt that began before the breaker opened, and leaves it as it is. A probe replaced
-- because it went stale is no longer the probe, so its late result is ignored too.
--
-- The common case, a success at a closed breaker with no failures counted, still writes nothing. Body as in
-- 20261201100900 otherwise.
--
-- The same review found that while the probe ran, every other booking of the restaurant was told to look again
-- in a second, so each re-ran its begin (the restaurant lock, a circuit_open event) about once a second for as
-- long as the probe took, up to its 30 s lease. They now wait until the probe could be replaced, between 1 and 5
-- seconds: the probe's report frees its slot, which wakes as many of them as there are free slots, and 5 s
-- bounds what a missed wake costs. private.breaker_admit's body as in 20261209020000 otherwise.

create or replace function private.breaker_record(p_restaurant_id uuid, p_booking_id uuid, p_error boolean, p_now timestamptz)
returns void language plpgsql set search_path = '' as $$
declare
  br private.circuit_breakers;
  threshold integer;
begin
  if not p_error then
    update private.circuit_breakers
       set state = 'closed', consecutive_failures = 0, opened_at = null, probe_booking_id = null,
           probe_started_at = null, updated_at = p_now
     where restaurant_id = p_restaurant_id
       and (state = 'closed' and consecutive_failures > 0 or state <> 'closed' and probe_booking_id = p_booking_id)
    returning * into br;
    if br.restaurant_id is not null then
      perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_closed', 'info', '{}'::jsonb,
                                   p_restaurant_id, p_booking_id);
    end if;
    return;
  end if;

  threshold := (private.settings_for(p_restaurant_id)).breaker_failure_threshold;
  insert into private.circuit_breakers as c (restaurant_id, consecutive_failures, updated_at)
  values (p_restaurant_id, 1, p_now)
  on conflict (restaurant_id) do update set consecutive_failures = c.consecutive_failures + 1, updated_at = p_now
   where c.state = 'closed' or c.probe_booking_id = p_booking_id
  returning * into br;
  if br.state = 'half_open' or (br.state = 'closed' and br.consecutive_failures >= threshold) then
    update private.circuit_breakers
       set state = 'open', opened_at = p_now, probe_booking_id = null, probe_started_at = null
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_opened', 'error',
      pg_catalog.jsonb_build_object('consecutive_failures', br.consecutive_failures, 'from', br.state),
      p_restaurant_id, p_booking_id);
  end if;
end $$;
comment on function private.breaker_record(uuid, uuid, boolean, timestamptz) is
  'Record how an attempt ended (p_error: true for an error, false for any completed run). Counts while the breaker is closed; while it is open or half-open only the probe''s result counts: a success closes it, an error opens it again.';

create or replace function private.breaker_admit(p_restaurant_id uuid, p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  br private.circuit_breakers;
  cooldown_ms integer;
  remaining_ms integer;
  stale text;
  probe_until timestamptz;
begin
  select * into br from private.circuit_breakers where restaurant_id = p_restaurant_id for update;
  if not found or br.state = 'closed' then
    return '{"allowed": true, "state": "closed"}'::jsonb;
  end if;
  cooldown_ms := (private.settings_for(p_restaurant_id)).breaker_cooldown_ms;
  if br.state = 'open' then
    remaining_ms := least(cooldown_ms::numeric,
      ceil(extract(epoch from (br.opened_at + pg_catalog.make_interval(secs => cooldown_ms / 1000.0) - p_now)) * 1000));
    if remaining_ms > 0 then
      return pg_catalog.jsonb_build_object('allowed', false, 'state', 'open', 'delay_ms', remaining_ms);
    end if;
    update private.circuit_breakers
       set state = 'half_open', probe_booking_id = p_booking_id, probe_started_at = p_now, updated_at = p_now
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_half_open', 'warning',
      pg_catalog.jsonb_build_object('consecutive_failures', br.consecutive_failures), p_restaurant_id, p_booking_id);
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  -- half_open: only the probe runs; others wait for it (below), unless the probe went stale.
  if br.probe_booking_id = p_booking_id then
    update private.circuit_breakers set probe_started_at = p_now, updated_at = p_now where restaurant_id = p_restaurant_id;
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  stale := private.breaker_probe_staleness(br, p_now);
  if stale is not null then
    update private.circuit_breakers
       set probe_booking_id = p_booking_id, probe_started_at = p_now, updated_at = p_now
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_probe_replaced', 'warning',
      pg_catalog.jsonb_build_object('previous_probe', br.probe_booking_id, 'why', stale,
                                    'consecutive_failures', br.consecutive_failures), p_restaurant_id, p_booking_id);
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  -- Until the probe could be replaced (its lease running out, or a lease since it was picked), 5 s at most:
  -- its report frees its slot, which wakes as many waiting bookings as there are free slots
  -- (wake_next_deferred), and 5 s bounds what a missed wake costs (a probe deleted, a wake that skipped a
  -- booking being begun), as no stranded-queue pass wakes a restaurant whose breaker is not closed.
  select least(case when p.assignment_state = 'assignment_in_progress' then p.lease_expires_at end,
               br.probe_started_at + pg_catalog.make_interval(secs => (private.settings_for(p_restaurant_id)).lease_seconds))
    into probe_until
    from public.bookings p where p.id = br.probe_booking_id;
  return pg_catalog.jsonb_build_object('allowed', false, 'state', 'half_open', 'delay_ms',
    greatest(1000, least(5000, coalesce(ceil(extract(epoch from probe_until - p_now) * 1000), 1000)))::integer);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
