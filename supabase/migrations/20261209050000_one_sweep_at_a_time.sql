-- One sweep at a time, and the escalation of a booking no attempt began for says what may have happened.
--
-- The scheduled sweep and assignment_sweep_now (a claim loop that reached its 2 minutes with work left) can
-- run at once. Each locks expired leases in lease order, skipping the other's, and expire_lease then locks
-- the booking's restaurant's breaker row until commit: two sweeps could take two restaurants in opposite
-- orders and deadlock, and the loser's row went to manual review as sweeper_error although its only problem
-- was an expired lease. A sweep now waits for one already running to finish (its transaction holds an
-- advisory lock, taken before any other lock), then sweeps what is left.
--
-- Since claims count as dispatches (20261209040000), a booking escalated as coordinator_unreachable was
-- either never answered or answered by a begin that failed; the reason says both. Body as in 20261208000000
-- otherwise.
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
  configured boolean := private.dispatch_configured();
begin
  -- One sweep at a time: a second waits for the first to finish, then sweeps what is left. Taken before any
  -- other lock, so waiting for it cannot deadlock.
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000'));
  s := private.settings_for(null);

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
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
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    begin
      if r.dispatch_count >= s.max_dispatches then
        reason := case when configured then
            pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without an attempt beginning (the coordinator did not answer, or its assignment_begin failed: see the functions'' logs)',
                              r.dispatch_count, pg_catalog.to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
          else
            pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                              r.dispatch_count) end;
        perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
          '{}'::jsonb, 'sweeper');
        -- Named for the booking's last mode, or the one it would have run in (the flags' ceiling is unknown here).
        perform private.record_escalation(coalesce(r.assignment_mode, (select m.mode from private.effective_mode(r.restaurant_id) m)),
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
