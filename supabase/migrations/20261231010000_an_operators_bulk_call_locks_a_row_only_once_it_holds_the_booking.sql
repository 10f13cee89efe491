-- An operator's bulk call locks a booking's row only once it holds the booking.
--
-- A review of ops.release_stuck found that it locked each candidate's row first and tried the booking's lock
-- second; a booking it then found busy was skipped with its row still locked to the end of the call (up to
-- 1000 bookings). assignment_begin takes the locks the other way round: the restaurant's, then the booking's,
-- then the row, waiting. A begin that took the booking's lock between the two steps therefore waited for the
-- whole call on that row while it held the restaurant's lock, so every other booking of that restaurant was
-- answered restaurant_locked meanwhile and counted towards its escalation. ops.retry_bookings had the same
-- order. Both now take a booking's lock first and its row only then, without waiting (one a commit holds is
-- skipped, as it was), and only if it still qualifies. The booking's lock of one skipped so is kept to the
-- end of the call (a transaction's advisory locks cannot be let go sooner): a begin of it meanwhile answers
-- booking_locked at once, and its restaurant's lock goes with its transaction. Bodies as in 20261223000000
-- (release_stuck) and 20261220000000 (retry_bookings) otherwise.

create or replace function ops.release_stuck(p_older_than_minutes integer, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  candidate record;
  reason text;
  cutoff timestamptz;
  released integer := 0;
  redispatched integer := 0;
  escalated integer := 0;
  busy integer := 0;
  left_stuck integer;
begin
  perform private.act_as(p_actor);
  if p_older_than_minutes is null or p_older_than_minutes < 1 then
    raise exception using errcode = 'AS005', message = 'p_older_than_minutes must be at least 1';
  end if;
  reason := pg_catalog.format('no progress for %s minutes; released by ops', p_older_than_minutes);
  cutoff := pg_catalog.now() - pg_catalog.make_interval(mins => p_older_than_minutes);
  for candidate in select b.id from public.bookings b
                    where b.assignment_state = any(private.unsettled_states()) and b.updated_at < cutoff
                      -- Its worker still holds a lease (up to lease_seconds, 300 at most): it is slow, not
                      -- stuck, and its commit would find the lease gone. Not even locked: when the lease runs
                      -- out the sweeper takes it back anyway.
                      and not (b.assignment_state = 'assignment_in_progress' and b.lease_expires_at > pg_catalog.now())
                    order by b.updated_at
                    limit 1000 loop
    -- A call that holds the booking right now (begin, another operator) is left alone.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', candidate.id)) then
      busy := busy + 1;
      continue;
    end if;
    -- Its row only now, if nobody holds it (a commit) and it is still stuck.
    select * into r from public.bookings b
     where b.id = candidate.id
       and b.assignment_state = any(private.unsettled_states()) and b.updated_at < cutoff
       and not (b.assignment_state = 'assignment_in_progress' and b.lease_expires_at > pg_catalog.now())
       for update skip locked;
    if not found then
      continue;
    end if;
    if r.assignment_state = 'assignment_in_progress' then
      perform private.record_attempt(r, 'retry', 'released_by_ops: ' || reason, null, null, '{}'::jsonb);
      perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
        'released_by_ops: ' || reason, pg_catalog.jsonb_build_object('attempt', r.attempt_count), p_actor);
      released := released + 1;
    elsif r.assignment_state = 'assigned' then
      perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version,
        'stuck_before_confirmation: ' || reason || '; its tables were released, assign them again',
        '{}'::jsonb, p_actor);
      escalated := escalated + 1;
      continue;
    else
      redispatched := redispatched + 1;
    end if;
    update public.bookings set dispatch_count = 0 where id = r.id;
    perform private.nudge(r.id, 'ops_release');
  end loop;
  -- Past this call's 1000, held by another call now (those it skipped as busy are among them), or by a worker's
  -- lease (those come back on their own when it runs out).
  select count(*)::int into left_stuck from public.bookings
   where assignment_state = any(private.unsettled_states()) and updated_at < cutoff;
  perform private.record_event('assignment.ops', 'ops.release_stuck', 'warning',
    pg_catalog.jsonb_build_object('older_than_minutes', p_older_than_minutes, 'released_leases', released,
                                  'redispatched', redispatched, 'escalated', escalated, 'skipped_busy', busy,
                                  'left', left_stuck), null, null);
  return pg_catalog.jsonb_build_object('released_leases', released, 'redispatched', redispatched,
                                       'escalated', escalated, 'skipped_busy', busy, 'left', left_stuck);
end $$;

-- Whether ops.retry_bookings may send a booking back: in review with that code since p_since, still ahead, its
-- party not arrived. Asked of the candidates, of each row once it is locked, and of those left; the scans also
-- say manual_review and a start ahead themselves, which the index of reviews by start serves.
create function private.retry_qualifies(b public.bookings, p_reason_code text, p_since timestamptz)
returns boolean language sql stable set search_path = '' as $$
  select b.assignment_state = 'manual_review'
     and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
     and b.start_at > pg_catalog.now()
     and b.status not in ('checked_in', 'completed', 'no_show')
     and (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review') >= p_since;
$$;

create or replace function ops.retry_bookings(p_reason_code text, p_actor text, p_since timestamptz,
                                              p_restaurant_id uuid default null, p_limit integer default 500)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  candidate record;
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
  if not exists (select 1 from private.reason_codes c where c.code = p_reason_code)
     and not exists (select 1 from public.bookings b
                      where b.assignment_state = 'manual_review'
                        and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
                        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('no booking in review has the reason code %s, and it is not one of the pipeline''s',
                                  p_reason_code),
      hint = coalesce('The pipeline''s codes in review now: ' || (
                        select pg_catalog.string_agg(distinct c.code, ', ' order by c.code)
                          from public.bookings b
                          join private.reason_codes c on c.code = pg_catalog.split_part(b.manual_review_reason, ':', 1)
                         where b.assignment_state = 'manual_review'
                           and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)) || '.',
                      'No booking of the pipeline''s is in review.');
  end if;
  for candidate in select b.id from public.bookings b
                    where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
                      and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
                      and private.retry_qualifies(b, p_reason_code, p_since)
                    order by b.start_at
                    limit p_limit loop
    -- An operator acting on the booking right now keeps it. The lock lasts to the end of the call, released
    -- on commit or rollback alike; p_limit keeps their number well inside the lock table that every begin
    -- and commit needs.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', candidate.id)) then
      busy := busy + 1;
      continue;
    end if;
    -- Its row only now, if nobody holds it and it still qualifies (retried on its own meanwhile and in review
    -- again for another reason, say, it does not).
    select b.* into r from public.bookings b
     where b.id = candidate.id and private.retry_qualifies(b, p_reason_code, p_since)
       for update of b skip locked;
    if not found then
      continue;
    end if;
    perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
      'ops_retry: sent back to automatic assignment with others of ' || p_reason_code, '{}'::jsonb, p_actor);
    queued := queued + 1;
  end loop;
  -- Left in review (beyond the limit, held by an operator, or locked by another call): call again.
  select count(*) into left_over from public.bookings b
   where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
     and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
     and private.retry_qualifies(b, p_reason_code, p_since);
  perform private.record_event('assignment.ops', 'ops.bookings_retried', 'info',
    -- A code of the pipeline's by name; one a platform wrote in its own reason is its words: free_text.
    pg_catalog.jsonb_build_object('reason_code', coalesce(private.reason_for_event(p_reason_code) ->> 'reason', 'free_text'),
                                  'queued', queued, 'busy', busy, 'left', left_over),
    p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'busy', busy, 'left', left_over);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
