-- A deadlock or a serialization failure in a sweep leaves the row for the next sweep, not for manual review.
--
-- The sweep handles each row on its own and sent a row whose step failed to manual review as a sweeper error
-- (private.sweep_row_failed), whatever failed, but for a lock it waited 2 s for. A deadlock (40P01) that
-- Postgres broke by aborting the sweep's side, or a serialization failure (40001), is a race another
-- transaction won, not something wrong with the row: the booking went to review with "sweeper_error: dispatch
-- failed with SQLSTATE 40P01" for an operator to retry by hand (an attacker's review of the lock order). The
-- claim and the wakes already set aside only a trigger's refusal, a constraint or a value (P0, 23, 22) and left
-- any other failure for their next round. The sweep now leaves those two as it leaves a lock it could not take:
-- counted as skipped, tried again by the next sweep (5 s later), so they end as the row's next sweep ends them,
-- each said in a sweeper.row_raced event. A row that loses three times within a minute is not racing (a
-- platform's trigger raising 40001 on every update of it, say, which would otherwise keep its place at the head
-- of every sweep): it is treated as any failing row is, escalated where it can be, else passed over for a minute
-- at a time (sweeper.row_failed). Any other failure is escalated as before. A queue's wake
-- (private.wake_bookings), which left every failure but a row's own for the next wake, now counts a queued
-- booking's lost races the same way, so one whose every update loses is passed over too, and the bookings
-- queued behind it are woken.
--
-- private.sweep: body as in 20261230060000, with those two. private.wake_bookings: as in 20261230060000, with
-- the races counted.

-- Said of a row whose step in a sweep lost a race (a deadlock, a serialization failure); true when it has lost
-- three within a minute, and has been escalated as a failure (private.sweep_row_failed).
create function private.sweep_row_raced(p_booking_id uuid, p_step text, p_sqlstate text, p_now timestamptz)
returns boolean language plpgsql set search_path = '' as $$
begin
  perform private.record_event('assignment.sweeper', 'sweeper.row_raced', 'warning',
    pg_catalog.jsonb_build_object('step', p_step, 'sqlstate', p_sqlstate), null, p_booking_id, p_now);
  if (select count(*) from public.observability_events e
       where e.booking_id = p_booking_id and e.event_type = 'sweeper.row_raced'
         and e.created_at > p_now - interval '1 minute' and e.created_at <= p_now) < 3 then
    return false;
  end if;
  perform private.sweep_row_failed(p_booking_id, p_step, p_sqlstate, p_now);
  return true;
end $$;

-- Its plans as 20261231280000 set them (a create or replace sets a function's settings anew).
create or replace function private.wake_bookings(p_ids uuid[], p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' set enable_seqscan = off set jit = off as $$
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
    exception when deadlock_detected or serialization_failure then
      perform private.sweep_row_raced(one, 'wake', sqlstate, p_now);
    when others then
      if pg_catalog.left(sqlstate, 2) in ('P0', '23', '22') then
        perform private.sweep_row_failed(one, 'wake', sqlstate, p_now);
      end if;
    end;
  end loop;
  return woken;
end $$;

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
    when deadlock_detected or serialization_failure then
      -- A race another transaction won: the row, as it is then, is the next sweep's, unless it keeps losing.
      if private.sweep_row_raced(r.id, 'expire_lease', sqlstate, p_now) then
        failed := failed + 1;
      else
        skipped := skipped + 1;
      end if;
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
    when deadlock_detected or serialization_failure then
      if private.sweep_row_raced(r.id, case when r.dispatch_count >= s.max_dispatches then 'escalate' else 'dispatch' end,
                                 sqlstate, p_now) then
        failed := failed + 1;
      else
        skipped := skipped + 1;
      end if;
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

comment on function private.wake_bookings(uuid[], timestamptz) is
  'Make the queued bookings p_ids due at p_now, each refused for a reason of its own set aside (sweeper.row_failed), each that lost a race said (sweeper.row_raced) and set aside at its third loss within a minute, each held up otherwise left for the next wake; returns how many were woken.';

revoke all on all routines in schema private from public, anon, authenticated;
