-- A failure's reason code is one of the pipeline's.
--
-- An attempt that ends (public.assignment_fail) gives its reason as "<code>: <sentence>", and the code is what
-- the queue, health's reviews by reason, the coordinator.retry and coordinator.manual_review events and the
-- seed dashboards group by. Any text before a first ':' was taken for the code: a caller with service_role,
-- or a coordinator whose message happened to hold a colon first, could send a booking to review as
-- 'totally_made_up: …', or as a guest's name followed by a colon, and that word became a group in every
-- dashboard and the reason of the events. Only a reason with no colon at all was prefixed with its kind.
--
-- Now a reason is kept as given only when it starts with one of the pipeline's reason codes
-- (private.reason_codes, where every code the coordinator sends is listed); any other is prefixed with its
-- kind ('no_fit: totally_made_up: …'), as one without a colon always was.
--
-- private.assignment_fail_unchecked: as in 20261231260000, with that test.

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
  -- The reason the attempt ends with: prefixed with its kind unless it starts with one of the pipeline's codes.
  ending text := case when exists (select 1 from private.reason_codes c
                                    where c.code = pg_catalog.split_part(reason, ':', 1))
                      then reason else p_kind || ': ' || reason end;
  offer jsonb;
  -- What "nothing fits" was said of (private.review_judgement): kept with the review it sends the booking to.
  judged text;
  ended jsonb;
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
  -- Of "nothing fits" alone (not an exact search out of time, which another try may finish): the floor plan of
  -- the version the snapshot was planned on (the last part of the lease's rules digest, which the check above
  -- found unchanged, so the request and the combination limit are the lease's too), read with that version in
  -- one statement, so it is that version's; and who holds the tables around it now, under the restaurant lock.
  -- Settings written since the snapshot (re-optimisation, which the rules digest leaves out) keep nothing.
  if p_kind = 'no_fit' and pg_catalog.split_part(ending, ':', 1) = 'no_table_fits' then
    select private.review_judgement(b, private.settings_for(b.restaurant_id), b.assignment_mode, v.room_digest)
      into judged
      from private.planned_rules p join private.floor_plan_versions v on v.restaurant_id = b.restaurant_id
     where p.booking_id = b.id and p.lease_token = b.lease_token
       and v.changes::text = pg_catalog.split_part(p.digest, '/', 7)
       and (select g.updated_at from private.pipeline_settings g) < p.planned_at
       and coalesce((select r.updated_at from private.restaurant_pipeline_settings r
                      where r.restaurant_id = b.restaurant_id), '-infinity') < p.planned_at;
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
  ended := private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, ending,
                               p_duration_ms, p_details, p_now, offer);
  if ended ->> 'outcome' = 'manual_review' and judged is not null then
    insert into private.review_judgements (booking_id, state_version, judgement)
    select k.id, k.assignment_state_version, judged from public.bookings k where k.id = b.id
    on conflict (booking_id) do update set state_version = excluded.state_version, judgement = excluded.judgement;
  end if;
  return ended;
end $$;

