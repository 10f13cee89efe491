-- Rows nobody can update wait aside, so they never fill the sweeper's batch or a claim of one.
--
-- A review of the bounded-time invariant found that a booking that cannot even be escalated (every UPDATE of it
-- refused, by a platform trigger of its own, say) keeps the oldest due time, as nothing can move it: it headed
-- every sweep and every claim's fallback. A claim of one (a drain worker's, the usual claim) then handed out
-- nothing at all while it was due, for every restaurant, and as many such rows as the sweeper's batch (100)
-- would have stopped the sweeper too: a booking whose nudge was lost behind them would never have been
-- dispatched or escalated. Now a row that failed within the last minute (its sweeper.row_failed event, which is
-- recorded before the escalation is tried) is passed over by the sweeper's two loops and by the claim's
-- fallback, which also reads past the rows that fail now, so it tries each such row once a minute and hands
-- out the others. The claim's common path, the batch, is unchanged.
-- A review of the review queue's reasons found two more in the sweep's escalations, changed here too: a
-- booking whose lease found its advisory lock held by another call (an operator's, say) again and again was
-- escalated as coordinator_unreachable, as only the restaurant's lock was counted: both are now, under
-- restaurant_locked, whose text names both; and coordinator_unreachable said "dispatched N times since" the
-- booking's insert, though the count starts over with each change of state: it now names the last one.
-- Bodies as in 20261224040000 (assignment_claim_due_unchecked) and 20261226030000 (sweep), with those changes.

update private.reason_codes
   set meaning = 'dispatched until escalation while another transaction held the restaurant''s lock, or the booking''s'
 where code = 'restaurant_locked';

-- Whether the sweeper or a claim failed on this booking within the minute before p_now.
create function private.failed_lately(p_booking_id uuid, p_now timestamptz)
returns boolean language sql stable set search_path = '' as $$
  select exists (select 1 from public.observability_events e
                  where e.booking_id = p_booking_id and e.event_type = 'sweeper.row_failed'
                    and e.created_at > p_now - interval '1 minute' and e.created_at <= p_now);
$$;

create or replace function private.assignment_claim_due_unchecked(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now())
returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[] := '{}';
  taken uuid[];
  seen integer;
  woken boolean := false;
  since timestamptz;
  max_dispatches integer := (private.settings_for(null)).max_dispatches;
  one record;
begin
  -- Its commit need not wait for the disk (see 20261205020000), unless it runs inside a transaction that
  -- wrote before it.
  if pg_catalog.pg_current_xact_id_if_assigned() is null then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 1000';
  end if;
  if p_visibility_ms is null or p_visibility_ms not between 100 and 600000 then
    raise exception using errcode = 'AS005', message = 'visibility_ms must be between 100 and 600000';
  end if;
  since := least(private.claim_floor(p_now), p_now - interval '1 second');
  -- From the floor; the whole queue when too little was due above it; and once more only when nothing was due
  -- and a queue nobody would wake was woken just now (those it woke are due at p_now, above the floor).
  for pass in 1..3 loop
    -- Claiming pushes next_attempt_at out by the visibility timeout, so a claimed booking whose worker dies
    -- becomes due again instead of being lost, and is no longer a new booking nobody claimed. The conditions
    -- are on the locked rows themselves, so they are checked again once a row is locked.
    begin
      with above_floor as (
        select b.id from public.bookings b
         where b.next_attempt_at <= p_now and b.next_attempt_at >= since
           and private.is_queued(b.assignment_state)
           and b.dispatch_count < max_dispatches
           and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
           and b.id <> all(claimed)
         order by b.next_attempt_at limit p_limit - pg_catalog.cardinality(claimed)),
      candidates as (
        select id from above_floor
        union all
        (select b.id from public.bookings b
          where b.assignment_state = 'created' and b.deferred_since is null
            and b.created_at <= p_now - private.claim_new_after()
            and b.next_attempt_at <= b.created_at + private.nudge_grace()
            and b.dispatch_count < max_dispatches
            and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
            and b.id <> all(claimed)
          order by b.created_at limit p_limit - pg_catalog.cardinality(claimed))),
      due as (
        select b.id from public.bookings b
         where b.id in (select c.id from candidates c)
           and private.is_queued(b.assignment_state)
           -- Handed out max_dispatches times without an attempt beginning: the sweeper escalates it.
           and b.dispatch_count < max_dispatches
           and (b.next_attempt_at <= p_now
                or b.assignment_state = 'created' and b.deferred_since is null
                   and b.created_at <= p_now - private.claim_new_after()
                   and b.next_attempt_at <= b.created_at + private.nudge_grace())
         -- In the order they became claimable.
         order by least(b.next_attempt_at, b.created_at + private.claim_new_after())
         limit p_limit - pg_catalog.cardinality(claimed)
         for update of b skip locked),
      claimed_rows as (
        -- Handed out, as the sweeper's dispatches are: a stranded queue is told apart from one just claimed.
        update public.bookings b
           set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0),
               last_dispatched_at = p_now, dispatch_count = b.dispatch_count + 1
          from due where b.id = due.id
        returning b.id)
      select coalesce((select pg_catalog.array_agg(id) from claimed_rows), '{}'), (select count(*) from above_floor)
        into taken, seen;
    exception when others then
      -- A row the claim cannot update (a trigger of the platform's that refuses it, say) failed the whole
      -- batch, and would fail every claim that reaches it. The bookings the batch would have taken are locked
      -- here, as the batch locks them, and each is updated on its own; one whose update is refused goes to
      -- manual review with the cause (as the sweeper's rows do), still locked, and the others are handed out
      -- now. Only a refusal of that row's data is taken for its fault: anything else (a race, a resource, the
      -- server) leaves it for a later claim.
      -- A row that failed within the last minute is passed over (it cannot even be escalated, or it would
      -- have left the queue), and the claim reads past the rows that fail now, a few more than it hands out,
      -- so that rows nobody can update never fill a claim of one.
      for one in select b.id from public.bookings b
                  where private.is_queued(b.assignment_state)
                    and b.dispatch_count < max_dispatches
                    and (b.next_attempt_at <= p_now
                         or b.assignment_state = 'created' and b.deferred_since is null
                            and b.created_at <= p_now - private.claim_new_after()
                            and b.next_attempt_at <= b.created_at + private.nudge_grace())
                    and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
                    and b.id <> all(claimed)
                    and not private.failed_lately(b.id, p_now)
                  order by least(b.next_attempt_at, b.created_at + private.claim_new_after())
                  limit p_limit - pg_catalog.cardinality(claimed) + 10
                  for update of b skip locked loop
        exit when pg_catalog.cardinality(claimed) >= p_limit;
        begin
          update public.bookings b
             set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0),
                 last_dispatched_at = p_now, dispatch_count = b.dispatch_count + 1
           where b.id = one.id;
          claimed := claimed || one.id;
        exception when others then
          -- A trigger's refusal (P0), a constraint (23) or a value (22) belongs to the row; once a minute at
          -- most, so a row that cannot even be escalated does not write an event per claim.
          if pg_catalog.left(sqlstate, 2) in ('P0', '23', '22')
             and not exists (select 1 from public.observability_events e
                              where e.booking_id = one.id and e.event_type = 'sweeper.row_failed'
                                and e.created_at > p_now - interval '1 minute') then
            perform private.sweep_row_failed(one.id, 'claim', sqlstate, p_now);
          end if;
        end;
      end loop;
      exit;
    end;
    claimed := claimed || taken;
    if since > '-infinity' and seen < p_limit and pg_catalog.cardinality(claimed) < p_limit then
      since := '-infinity'; -- too little above the floor: the whole queue
      continue;
    end if;
    exit when pg_catalog.cardinality(claimed) > 0 or woken;
    exit when private.wake_stranded_queues(p_now, p_restaurant_id) = 0;
    woken := true;
  end loop;
  return claimed;
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
  woken integer := 0;
  backoff_ms integer;
  reason text;
  locked_out integer;
  configured boolean := private.dispatch_configured();
begin
  -- One sweep at a time: a second waits for the first to finish, then sweeps what is left. Taken before any
  -- other lock, so waiting for it cannot deadlock.
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000'));
  s := private.settings_for(null);

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
              and not private.failed_lately(b.id, p_now)
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    begin
      perform private.expire_lease(r.id, p_now);
      expired := expired + 1;
    exception when others then
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
        reason := case when locked_out * 2 >= r.dispatch_count then
            pg_catalog.format('restaurant_locked: dispatched %s times; the coordinator answered %s of them but could not take the restaurant''s lock within 5 s, or the booking''s: a transaction held it (an operator''s left open, a long bulk call: see pg_stat_activity), then retry the booking',
                              r.dispatch_count, locked_out)
          when configured then
            -- Since its count last started over: its last change of state (it was queued, or began), or its insert.
            pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without an attempt beginning (the coordinator did not answer, or its assignment_begin failed: see the functions'' logs)',
                              r.dispatch_count, pg_catalog.to_char(
                                coalesce((select max(h.created_at) from public.booking_assignment_state_history h
                                           where h.booking_id = r.id), r.created_at) at time zone 'UTC',
                                'YYYY-MM-DD HH24:MI:SS "UTC"'))
          else
            pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                              r.dispatch_count) end;
        perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
          '{}'::jsonb, 'sweeper');
        -- Named for the booking's last mode, or the one it would have run in under the function's flags as last
        -- heard (20261226020000).
        perform private.record_escalation(coalesce(r.assignment_mode,
                                                   (select m.mode from private.decide_mode(r.restaurant_id, private.function_ceiling()) m)),
          reason, r.attempt_count, null,
          pg_catalog.jsonb_build_object('dispatches', r.dispatch_count, 'dispatch_configured', configured),
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
    exception when others then
      perform private.sweep_row_failed(r.id, case when r.dispatch_count >= s.max_dispatches then 'escalate' else 'dispatch' end,
                                       sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;
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

  if expired + woken + dispatched + not_dispatched + escalated + failed > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched + failed > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                    'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
