-- After an incident — a circuit breaker that opened, the functions unreachable, V3 misbehaving until the
-- kill switch was pulled — every booking it touched waits in manual review with the same reason code, and
-- ops.retry_booking sends them back one at a time. ops.retry_bookings sends back, in one call, those of one
-- reason code escalated since a given time (of one restaurant, or all) whose stay is still ahead and whose
-- party has not arrived, soonest first, p_limit (500, at most 1000) per call so that one call stays one short
-- transaction holding few locks:
-- it answers how many are left, and is called again until none are. They are due at once; the sweeper
-- dispatches them, 100 per sweep every 5 s (and running drains take them as they go), each restaurant's
-- max_parallel holding as always, so a restaurant's backlog is not fired at the functions in one burst.

create function ops.retry_bookings(p_reason_code text, p_actor text, p_since timestamptz,
                                   p_restaurant_id uuid default null, p_limit integer default 500)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  queued integer := 0;
  busy integer := 0;
  left_over integer;
begin
  perform private.act_as(p_actor);
  if coalesce(pg_catalog.btrim(p_reason_code), '') = '' or p_reason_code !~ '^[a-z_]{1,64}$' then
    raise exception using errcode = 'AS005',
      message = 'name the reason code to retry, as ops.manual_review_queue() shows it (e.g. circuit_open)';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'p_limit must be between 1 and 1000';
  end if;
  if p_since is null then
    raise exception using errcode = 'AS005', message = 'say since when: p_since, e.g. now() - interval ''2 hours''';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  for r in select b.* from public.bookings b
            where b.assignment_state = 'manual_review'
              and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
              and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
              and b.start_at > pg_catalog.now()
              and b.status not in ('checked_in', 'completed', 'no_show')
              and (select max(h.created_at) from public.booking_assignment_state_history h
                    where h.booking_id = b.id and h.to_state = 'manual_review') >= p_since
            order by b.start_at
            limit p_limit
            for update of b skip locked loop
    -- An operator acting on the booking right now keeps it. The lock lasts to the end of the call, released
    -- on commit or rollback alike; p_limit keeps their number well inside the lock table that every begin
    -- and commit needs.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', r.id)) then
      busy := busy + 1;
      continue;
    end if;
    perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
      'ops_retry: sent back to automatic assignment with others of ' || p_reason_code, '{}'::jsonb, p_actor);
    queued := queued + 1;
  end loop;
  -- Left in review (beyond the limit, held by an operator, or locked by another call): call again.
  select count(*) into left_over from public.bookings b
   where b.assignment_state = 'manual_review'
     and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
     and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
     and b.start_at > pg_catalog.now()
     and b.status not in ('checked_in', 'completed', 'no_show')
     and (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review') >= p_since;
  perform private.record_event('assignment.ops', 'ops.bookings_retried', 'info',
    -- A code of the pipeline's by name; one a platform wrote in its own reason is its words: free_text.
    pg_catalog.jsonb_build_object('reason_code', coalesce(private.reason_for_event(p_reason_code) ->> 'reason', 'free_text'),
                                  'queued', queued, 'busy', busy, 'left', left_over),
    p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'busy', busy, 'left', left_over);
end $$;
comment on function ops.retry_bookings(text, text, timestamptz, uuid, integer) is
  'After an incident: send back to automatic assignment, with a fresh attempt budget, every booking in manual review with this reason code (e.g. circuit_open, coordinator_unreachable, attempts_exhausted) escalated since p_since, of one restaurant or all, whose stay is still ahead and whose party has not arrived, soonest first, at most p_limit (500) per call. They are due at once and the sweeper dispatches them (100 per sweep, every 5 s) under each restaurant''s max_parallel. Returns {queued, busy, left}: busy ones (an operator acting on them right now) stay in review; call again while left is above 0.';

revoke all on function ops.retry_bookings(text, text, timestamptz, uuid, integer) from public, anon, authenticated;
grant execute on function ops.retry_bookings(text, text, timestamptz, uuid, integer) to service_role;
