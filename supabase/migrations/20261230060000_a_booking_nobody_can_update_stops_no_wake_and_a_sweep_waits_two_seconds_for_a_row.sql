-- A booking nobody can update stops no wake and no sweep; the sweep waits 2 s at most for any row.
--
-- A review of the background jobs found two ways one row stopped the sweeper for every restaurant:
--   - A queued booking every UPDATE of which is refused (a platform trigger of its own, the case 20261227080000
--     set such rows aside for) stopped the wake of its queue: private.wake_stranded_queues updated the queue's
--     oldest bookings in one statement, outside any handler, so the error rolled back the whole sweep (leases,
--     dispatches, escalations, the message nudge), every 5 s for ever, and the claim's fallback wake with it; the
--     trigger that wakes a queue as a slot frees (private.wake_next_deferred) failed the statement that freed it,
--     another booking's commit. The wakes now go through private.wake_bookings: one statement as before, and when
--     it fails, each booking on its own, the one refused set aside (sweeper.row_failed, passed over for a minute,
--     as the sweeper's own rows are; one held up by a lock or a deadlock is only left for the next wake).
--   - The sweep waited without limit for any row lock: a breaker row held by an operator's open transaction
--     (ops.reset_circuit_breaker in a session left open) kept the sweep, which holds the sweeper's lock, waiting,
--     so no sweep ran for any restaurant and every hand-over sweep queued behind it, each holding a connection.
--     Once it holds the sweeper's lock, a sweep now waits 2 s at most for any other lock, and a row it cannot
--     lock in time is left for the next sweep (counted as skipped_locked), not sent to review as an error, with
--     the rest of its restaurant's rows, which would wait as long.
-- private.sweep: body as in 20261228150000, with the lock timeout and the skipped rows.
-- private.wake_next_deferred, private.wake_stranded_queues: bodies as in 20261228120000, through
-- private.wake_bookings, passing over the bookings that failed lately.

-- Make queued bookings due now; how many. One that cannot be updated for a reason of its own (a trigger's
-- refusal, a constraint, a value: as the claim judges it) is set aside as the sweeper sets its rows aside
-- (sweeper.row_failed, escalated if it can be, passed over for a minute); one held up otherwise (a lock wait, a
-- deadlock) is left for the next wake. The others are woken all the same.
create function private.wake_bookings(p_ids uuid[], p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  one uuid;
  n integer;
  woken integer := 0;
begin
  begin
    update public.bookings set next_attempt_at = p_now where id = any(p_ids);
    get diagnostics n = row_count;
    return n;
  exception when others then
    null; -- one of them, or more: each on its own
  end;
  foreach one in array p_ids loop
    begin
      update public.bookings set next_attempt_at = p_now where id = one;
      get diagnostics n = row_count;
      woken := woken + n;
    exception when others then
      if pg_catalog.left(sqlstate, 2) in ('P0', '23', '22') then
        perform private.sweep_row_failed(one, 'wake', sqlstate, p_now);
      end if;
    end;
  end loop;
  return woken;
end $$;
comment on function private.wake_bookings(uuid[], timestamptz) is
  'Make the queued bookings p_ids due at p_now, each refused for a reason of its own set aside (sweeper.row_failed), each held up otherwise left for the next wake; returns how many were woken.';

create or replace function private.sweep(p_now timestamptz default pg_catalog.clock_timestamp())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.pipeline_settings;
  r record;
  expired integer := 0;
  dispatched integer := 0;
  not_dispatched integer := 0;
  escalated integer := 0;
  failed integer := 0;
  skipped integer := 0;
  -- Restaurants a row of which could not be locked in time (their breaker row held, say): their other rows
  -- would wait as long, so they are left for the next sweep too.
  held uuid[] := '{}';
  prior_lock_timeout text := pg_catalog.current_setting('lock_timeout');
  woken integer := 0;
  backoff_ms integer;
  reason text;
  locked_out integer;
  configured boolean := private.dispatch_configured();
  -- Whether pg_net holds nudges of the pipeline's over a minute old: asked once, at the first escalation.
  nudges_stuck boolean;
begin
  -- One sweep at a time: a second waits for the first to finish, then sweeps what is left. Taken before any
  -- other lock, so waiting for it cannot deadlock.
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000'));
  -- Every other lock is waited for 2 s at most: a row another transaction holds (a breaker row in an operator's
  -- open transaction, say) holds back that row, left for the next sweep, never the sweep.
  perform pg_catalog.set_config('lock_timeout', '2s', true);
  s := private.settings_for(null);

  for r in select b.id, b.restaurant_id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
              and not private.failed_lately(b.id, p_now)
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    if r.restaurant_id = any(held) then
      skipped := skipped + 1;
      continue;
    end if;
    begin
      perform private.expire_lease(r.id, p_now);
      expired := expired + 1;
    exception when lock_not_available then
      skipped := skipped + 1;
      held := held || r.restaurant_id;
    when others then
      perform private.sweep_row_failed(r.id, 'expire_lease', sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;

  -- Before the due bookings are looked for, so the queues woken now are dispatched by this very sweep.
  woken := private.wake_stranded_queues(p_now);

  for r in select b.id, b.restaurant_id, b.dispatch_count, b.assignment_state_version, b.created_at, b.assignment_mode,
                  b.attempt_count
             from public.bookings b
            where private.is_queued(b.assignment_state) and b.next_attempt_at <= p_now
              and not private.failed_lately(b.id, p_now)
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    if r.restaurant_id = any(held) then
      skipped := skipped + 1;
      continue;
    end if;
    begin
      if r.dispatch_count >= s.max_dispatches then
        -- Begins the coordinator made, since the booking's last attempt began (which started the count over),
        -- that gave up on the restaurant's lock or found the booking's held by another call. Most of them: a
        -- lock held the booking back, not the network.
        select count(*) into locked_out from public.observability_events e
         where e.booking_id = r.id
           and e.event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention', 'rollout.lock_contention')
           and e.context ->> 'lock' in ('restaurant', 'booking')
           and e.created_at > coalesce((select max(began.created_at) from public.observability_events began
                                         where began.booking_id = r.id
                                           and began.event_type in ('coordinator.start', 'auto_assign.attempt.start')),
                                       '-infinity');
        if configured and nudges_stuck is null and locked_out * 2 < r.dispatch_count then
          nudges_stuck := exists (select 1 from net.http_request_queue q
                                    join private.pipeline_requests p on p.id = q.id
                                   where p.sent_at < p_now - interval '1 minute');
        end if;
        reason := case when locked_out * 2 >= r.dispatch_count then
            pg_catalog.format('restaurant_locked: dispatched %s times; the coordinator answered %s of them but could not take the restaurant''s lock within 5 s, or the booking''s: a transaction held it (an operator''s left open, a long bulk call: see pg_stat_activity), then retry the booking',
                              r.dispatch_count, locked_out)
          when configured then
            -- Since its count last started over: its last change of state (it was queued, or began), or its insert.
            pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without an attempt beginning (%s)',
                              r.dispatch_count, pg_catalog.to_char(
                                coalesce((select max(h.created_at) from public.booking_assignment_state_history h
                                           where h.booking_id = r.id), r.created_at) at time zone 'UTC',
                                'YYYY-MM-DD HH24:MI:SS "UTC"'),
                              case when nudges_stuck
                                   then 'pg_net has not sent the pipeline''s nudges, some queued over a minute ago: its worker is down or stalled; select net.worker_restart(), then retry the bookings'
                                   else 'the coordinator did not answer, or its assignment_begin failed: see the functions'' logs' end)
          else
            pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                              r.dispatch_count) end;
        perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
          '{}'::jsonb, 'sweeper');
        -- Named for the path its run took: the mode its attempts ran in, or, when no attempt of this run began
        -- (a booking from its insert, one queued again after a change, one a lease only deferred), the mode it
        -- would run in now under the function's flags as last heard (20261226020000).
        perform private.record_escalation(coalesce(case when r.attempt_count > 0 then r.assignment_mode end,
                                                   (select m.mode from private.decide_mode(r.restaurant_id, private.function_ceiling()) m)),
          reason, r.attempt_count, null,
          pg_catalog.jsonb_build_object('dispatches', r.dispatch_count, 'dispatch_configured', configured,
                                        'nudges_stuck_in_pg_net', nudges_stuck),
          r.restaurant_id, r.id, 'error');
        escalated := escalated + 1;
      else
        -- The attempt counts even when nothing could be sent, so a booking still escalates in bounded time.
        -- 5 s, 10 s, 20 s … capped at a minute, plus up to 2 s of jitter.
        backoff_ms := private.backoff_ms(r.dispatch_count + 1, 5000, 60000, 2000);
        update public.bookings
           set dispatch_count = dispatch_count + 1, last_dispatched_at = p_now,
               next_attempt_at = p_now + pg_catalog.make_interval(secs => backoff_ms / 1000.0)
         where id = r.id;
        if private.dispatch_booking(r.id, 'sweeper') is not null then
          dispatched := dispatched + 1;
        else
          not_dispatched := not_dispatched + 1;
        end if;
      end if;
    exception when lock_not_available then
      skipped := skipped + 1;
      held := held || r.restaurant_id;
    when others then
      perform private.sweep_row_failed(r.id, case when r.dispatch_count >= s.max_dispatches then 'escalate' else 'dispatch' end,
                                       sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;
  perform pg_catalog.set_config('lock_timeout', prior_lock_timeout, true);
  if not_dispatched > 0 and not configured then
    perform private.record_event('assignment.sweeper', 'dispatch.not_configured', 'error',
      pg_catalog.jsonb_build_object('not_dispatched', not_dispatched,
        'fix', 'store assignment_functions_url and assignment_pipeline_secret in Vault'), null, null, p_now);
  end if;

  if exists (select 1 from public.notification_outbox o
              where (o.status = 'pending' and o.next_attempt_at <= p_now)
                 or (o.status = 'sending' and o.lease_expires_at <= p_now)) then
    perform private.post_to_function('notification-dispatcher', '{"trigger": "sweeper"}'::jsonb);
  end if;

  if expired + woken + dispatched + not_dispatched + escalated + failed + skipped > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched + failed > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                    'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed,
                                    'skipped_locked', skipped),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed,
                                       'skipped_locked', skipped);
end $$;

create or replace function private.wake_next_deferred()
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
    perform private.wake_bookings(array(select w.id from public.bookings w
                                         where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                                           and private.is_queued(w.assignment_state) and w.next_attempt_at > pg_catalog.now()
                                           and not private.failed_lately(w.id, pg_catalog.now())
                                         order by w.created_at, w.id
                                         limit free
                                         for update skip locked), pg_catalog.now());
  end if;
  return null;
end $$;

create or replace function private.wake_stranded_queues(p_now timestamptz, p_restaurant_id uuid default null)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  r record;
  woken integer := 0;
begin
  -- The restaurants with a queue, one index probe each however long their queues (deferred_since is set only
  -- while a booking waits in a queued state: leaving them clears it), that look stranded: one query, as
  -- most queues have a booking in flight ahead of them (a claim loop that finds nothing due asks every time).
  for r in with recursive queues as (
             (select w.restaurant_id from public.bookings w
               where w.deferred_since is not null and p_restaurant_id is null
               order by w.restaurant_id limit 1)
             union all
             (select w.restaurant_id from public.bookings w
               where w.deferred_since is not null and w.restaurant_id = p_restaurant_id
               limit 1)
             union all
             select (select w.restaurant_id from public.bookings w
                      where w.deferred_since is not null and w.restaurant_id > q.restaurant_id
                      order by w.restaurant_id limit 1)
               from queues q where q.restaurant_id is not null and p_restaurant_id is null)
           select q.restaurant_id from queues q
            where q.restaurant_id is not null and not private.queue_is_served(q.restaurant_id, p_now)
  loop
    -- One waker per queue at a time, and the next one looks after it has committed (the statements below
    -- read afresh): two claim loops must not both take the queue for stranded and wake it twice over.
    continue when not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('restaurant_queue', r.restaurant_id));
    continue when private.queue_is_served(r.restaurant_id, p_now);
    woken := woken + private.wake_bookings(array(select w.id from public.bookings w
                                                  where w.restaurant_id = r.restaurant_id and w.deferred_since is not null
                                                    and private.is_queued(w.assignment_state) and w.next_attempt_at > p_now
                                                    and not private.failed_lately(w.id, p_now)
                                                  order by w.created_at, w.id
                                                  limit (private.settings_for(r.restaurant_id)).max_parallel
                                                  for update skip locked), p_now);
  end loop;
  return woken;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
