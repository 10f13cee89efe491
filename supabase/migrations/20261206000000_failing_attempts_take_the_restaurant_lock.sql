-- A freed slot wakes only the bookings already waiting when its transaction looks (private.wake_next_deferred),
-- so a decision to wait must not be taken while another transaction is freeing a slot unseen. assignment_begin
-- and assignment_commit take the restaurant lock first; assignment_fail did not, so a begin could find the slots
-- taken while a failing attempt left its slot, and wait for rate_limited_delay_ms (10 s) beside a free slot.
-- Now assignment_fail takes the restaurant lock first too (the lock order of the coordinator's RPCs:
-- restaurant, then booking), and a begin waits for a failing attempt to end before it counts.
-- A new booking joining the queue at insert still counts without the lock: waiting for it in shared mode
-- closed that gap too, but in the overload benchmark inserts queued behind every begin and commit of their
-- restaurant (7.8 against 2.2 ms per insert, goodput 62 against 97/s while offered, back to back), so that
-- race stays bounded by the fallback (docs/architecture.md).

-- assignment_fail as in 20261203010000, taking the restaurant lock before the booking's row.
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
  restaurant uuid;
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
  -- The attempt leaves its slot: serialised with the begins that count the slots (see the header).
  select x.restaurant_id into restaurant from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  perform private.lock_restaurant(restaurant);
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

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
