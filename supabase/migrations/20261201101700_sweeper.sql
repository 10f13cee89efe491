

-- One sweep. Returns what it did. Safe to run concurrently (SKIP LOCKED) and at any frequency.
create function private.sweep(p_now timestamptz default pg_catalog.clock_timestamp())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.pipeline_settings;
  r record;
  expired integer := 0;
  dispatched integer := 0;
  not_dispatched integer := 0;
  escalated integer := 0;
  backoff_ms integer;
  reason text;
  configured boolean := private.dispatch_configured();
begin
  s := private.settings_for(null);

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    perform private.expire_lease(r.id, p_now);
    expired := expired + 1;
  end loop;

  for r in select b.id, b.restaurant_id, b.dispatch_count, b.assignment_state_version, b.created_at, b.assignment_mode,
                  b.attempt_count
             from public.bookings b
            where private.is_queued(b.assignment_state) and b.next_attempt_at <= p_now
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    if r.dispatch_count >= s.max_dispatches then
      reason := case when configured then
          pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without the coordinator picking it up',
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

  if expired + dispatched + not_dispatched + escalated > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'dispatched', dispatched, 'not_dispatched', not_dispatched,
                                    'escalated', escalated),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated);
end $$;

-- For pg_cron 1.4, which only has minute schedules: sweep `p_iterations` times within the minute,
-- committing after each sweep so its dispatches go out. pg_cron 1.5+ (hosted Supabase) calls sweep() directly.
-- (A procedure that commits may not carry SET options or be security definer, so every name is qualified.)
create procedure private.run_sweeper(p_iterations integer default 1, p_interval_seconds numeric default 0)
language plpgsql as $$
begin
  for i in 1..p_iterations loop
    perform private.sweep(pg_catalog.clock_timestamp());
    commit;
    if i < p_iterations then
      perform pg_catalog.pg_sleep(p_interval_seconds);
    end if;
  end loop;
end $$;

create extension if not exists pg_cron;
do $$
begin
  if (select pg_catalog.regexp_match(extversion, '^(\d+)\.(\d+)')::int[] >= array[1, 5] from pg_catalog.pg_extension
       where extname = 'pg_cron') then
    perform cron.schedule('assignment-sweeper', '5 seconds', 'select private.sweep()');
  else
    perform cron.schedule('assignment-sweeper', '* * * * *', 'call private.run_sweeper(11, 5)');
  end if;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
