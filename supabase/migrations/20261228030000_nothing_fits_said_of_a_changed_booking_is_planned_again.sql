-- "Nothing fits" said of a booking that changed while it was planned is no verdict: it is planned again.
--
-- A platform that cut a party of 8 to 2 (or moved its time) while the coordinator planned the 8 got the 8's
-- verdict: assignment_fail(kind no_fit) sent the booking to manual review as "no_table_fits … a party of 8",
-- and nothing planned the 2 again, since a change re-plans a review only when it lands after the review
-- (20261227210000). A commit already re-plans when the rules changed since the snapshot (the digest of the
-- booking's party, stay and the restaurant's floor-plan changes); a failure now does the same: the attempt ends
-- as a conflict, reason rule_changed, and the next plans the booking as it is.
-- private.assignment_fail_unchecked: body as in 20261226000000, with that check.

create or replace function private.assignment_fail_unchecked(
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
  -- The reason the attempt ends with: prefixed with its kind unless it names its own code.
  ending text := case when pg_catalog.strpos(reason, ':') = 0 then p_kind || ': ' || reason else reason end;
  offer jsonb;
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
  select * into b from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  restaurant := b.restaurant_id;
  -- Before the lock (see the header): only for the attempt that holds the lease and is about to be escalated.
  if b.lease_token = p_lease_token and private.escalates_as_given(b, p_kind) then
    offer := private.escalation_offer(p_booking_id, ending);
  end if;
  -- The attempt leaves its slot: serialised with the begins that count the slots (20261206000000).
  perform private.lock_restaurant(restaurant);
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  -- "Nothing fits" said of a request, or a floor plan, that has changed since the snapshot (a party of 8 cut to
  -- 2 while it was planned) is no verdict on the booking as it is: planned again, as a commit would be.
  if p_kind = 'no_fit' and private.rules_changed_since_snapshot(b, private.settings_for(b.restaurant_id)) then
    p_kind := 'conflict';
    ending := 'rule_changed: the booking or its restaurant''s tables changed while it was planned, so "'
              || pg_catalog.left(ending, 300) || '" was said of what they were; planned again';
    offer := null;
  end if;
  perform private.record_shadow(b, p_shadow);
  -- A conflict says nothing either way about the restaurant's pipeline: neither counted nor a reset, and a
  -- probe that ends so hands the probe on, as one that met this booking's own bad data does.
  if p_kind = 'conflict' then
    perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
  elsif p_kind in ('error', 'invalid_data') then
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
  -- invalid_data is retried and escalated exactly like an error; only the breaker tells them apart.
  return private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, ending,
                             p_duration_ms, p_details, p_now, offer);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
