-- An attempt that a lock held elsewhere kept from ending is no failure of the restaurant's pipeline.
--
-- The coordinator calls a commit that gave up on a lock (55P03, the RPCs' 5 s lock_timeout: an operator's
-- transaction left open, a long bulk call) a conflict, which its breaker neither counts nor resets. But it
-- ends the attempt through public.assignment_fail, which waits for the same restaurant lock and gave up too;
-- the attempt's lease then ran out, and private.expire_lease counted a failure, so an operator's lock held
-- for over ten seconds reopened a half-open breaker (its probe's lease, as any other, counts) and restarted
-- the cooldown for the whole restaurant, or brought a closed one a failure nearer opening. Found by an
-- attacker's review of the breaker.
-- Now assignment_fail that gives up on a lock records coordinator.lock_contention (lock, during fail, the
-- kind it was given) without it, and answers lease_lost, as a call that no longer decides the booking: the
-- lease runs out and the sweeper ends the attempt. private.expire_lease reads that event:
-- an attempt that ended as a conflict, with nothing fitting or on its own bad data, none of which the breaker
-- counts as a failure, is ended as a conflict (restaurant_locked: planned again), its probe handed on and
-- nothing counted. An error is counted, as before.
-- The word comes at most about 10 s after the commit began to wait (two 5 s waits), so with the default 30 s
-- lease it is there long before the lease runs out. With a lease under about 11 s, or an attempt that planned
-- for most of its lease, a sweep can come first and count the failure, as before. Leaving expired leases for
-- later while the restaurant's lock is held elsewhere would close that, but the pipeline's own begins and
-- commits hold it for milliseconds all the time in a busy restaurant, so a dead worker's slot would be held
-- longer and the restaurant's sweep skipped for nothing. The word's own insert waits at most 500 ms on the
-- booking's row (a session holding it): past that the word is left unsaid and the expiry counts.
-- Bodies as in 20261210190000 (assignment_fail's wrapper, to which 20261224000000 gave its lock_timeout) and
-- 20261227030000 (expire_lease) otherwise.

create or replace function public.assignment_fail(p_booking_id uuid, p_lease_token uuid, p_kind text, p_reason text,
                                                  p_duration_ms integer default null, p_details jsonb default '{}',
                                                  p_shadow jsonb default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' set lock_timeout = '5s' as $$
declare
  b public.bookings;
  context text;
begin
  perform private.check_caller_clock(p_now);
  begin
    return private.assignment_fail_unchecked(p_booking_id, p_lease_token, p_kind, private.scrub_and_cut(p_reason, 500),
                                             p_duration_ms, p_details, p_shadow, p_now);
  exception when lock_not_available then
    get stacked diagnostics context = pg_exception_context;
  end;
  -- Read without waiting: only the attempt that still holds the lease leaves word of it. The event's reference
  -- to the booking may wait for the same holder (a session holding the booking's row): waited for 500 ms at
  -- most, then the word is left unsaid and the expiry counts the attempt, as before.
  select * into b from public.bookings x where x.id = p_booking_id and x.lease_token = p_lease_token;
  if found then
    begin
      perform pg_catalog.set_config('lock_timeout', '500ms', true);
      perform private.record_pipeline_event(b.assignment_mode, 'coordinator.lock_contention', 'warning',
        pg_catalog.jsonb_build_object(
          'lock', case when context like '%private.lock_restaurant(%' then 'restaurant'
                       when context like '%private.leased_booking(%' then 'booking' else 'other' end,
          'during', 'fail', 'kind', p_kind),
        b.restaurant_id, b.id);
    exception when lock_not_available then
      null;
    end;
  end if;
  return '{"outcome": "lease_lost"}'::jsonb;
end $$;

create or replace function private.expire_lease(p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  b public.bookings;
  kind text;
begin
  select * into b from public.bookings where id = p_booking_id for update;
  if b.assignment_state <> 'assignment_in_progress' or b.lease_expires_at > p_now then
    return pg_catalog.jsonb_build_object('outcome', 'noop');
  end if;
  -- The attempt ended, but a lock held elsewhere kept assignment_fail from saying so (its event, since the
  -- attempt began). Of a kind the breaker does not count as a failure (a conflict, nothing fitting, the
  -- booking's own data): ended now as a conflict, planned again, and counted neither way.
  select e.context ->> 'kind' into kind from public.observability_events e
   where e.booking_id = b.id
     and e.event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention', 'rollout.lock_contention')
     and e.context ->> 'during' = 'fail'
     and e.created_at >= coalesce((select max(began.created_at) from public.observability_events began
                                    where began.booking_id = b.id
                                      and began.event_type in ('coordinator.start', 'auto_assign.attempt.start')),
                                  '-infinity')
   order by e.created_at desc limit 1;
  if kind in ('conflict', 'no_fit', 'invalid_data') then
    perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
    return private.end_attempt(b, 'conflict', pg_catalog.format(
      'restaurant_locked: the attempt ended (%s) but could not say so within 5 s: a transaction held a lock it needed, its restaurant''s, the booking''s or its breaker''s (an operator''s left open, a long bulk call: see pg_stat_activity); planned again',
      kind), null, '{}'::jsonb, p_now);
  end if;
  if not exists (select 1 from private.circuit_breakers c
                  where c.restaurant_id = b.restaurant_id and c.state = 'closed'
                    and c.lease_expiry_counted_at > p_now - pg_catalog.make_interval(
                          secs => (private.settings_for(b.restaurant_id)).lease_seconds)) then
    perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    update private.circuit_breakers set lease_expiry_counted_at = p_now where restaurant_id = b.restaurant_id;
  end if;
  return private.end_attempt(b, 'error', 'lease_expired: the worker holding the booking stopped answering', null,
                             '{}'::jsonb, p_now);
end $$;

do $$
begin
  execute pg_catalog.format(
    'comment on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz) is %L',
    pg_catalog.obj_description(
      'public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz)'::regprocedure, 'pg_proc')
    || ' A call that waits over 5 s for a lock another transaction holds records coordinator.lock_contention and answers lease_lost: the lease runs out and the sweeper ends the attempt, as a conflict (uncounted) unless it was an error.');
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
