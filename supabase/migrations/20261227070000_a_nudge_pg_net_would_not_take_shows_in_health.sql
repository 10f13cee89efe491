-- A nudge pg_net would not take shows in health, and a URL pasted into Vault with a line break works.
--
-- A review of the local pg_net stand-in against the real one (0.20) found that real pg_net parses the URL when
-- net.http_post is called and refuses one with a space or a control character in it (a line break pasted into
-- Vault with the functions' URL, say), while the stand-in's worker, which parses it as a browser does, trimmed
-- it and delivered. On hosted Supabase every nudge then failed inside private.post_to_function, which records
-- dispatch.failed and goes on, and ops.health, which reads only pg_net's responses, stayed clean (no response
-- is written for a request never queued): bookings waited until the sweeper gave up on them as
-- coordinator_unreachable. Now the URL read from Vault is trimmed of spaces and line breaks (and so is the
-- secret, which the functions never have with white space around it), and ops.health
-- counts the nudges that failed before pg_net took them (dispatch.not_sent_last_15_min, with the latest
-- error) and calls them a problem. The stand-in refuses such a URL as pg_net does.
-- A review of the exact fallback on hosted runtimes found the same silence there: where HiGHS's WebAssembly
-- cannot load (a deployment without its .wasm file, say), every booking the fallback would have re-seated goes
-- to review saying "the solver failed", noticed only in the functions' logs. ops.health now counts the
-- bookings in review for that reason (exact_solver_failed) and calls it a problem.
-- Bodies as in 20261227050000 (post_to_function) and 20261226010000 (health_unchecked), with those changes.

create or replace function private.post_to_function(p_function text, p_body jsonb)
returns bigint language plpgsql security definer set search_path = '' as $$
declare
  base_url text;
  secret text;
  timeout_ms integer;
  booking uuid := (p_body ->> 'booking_id')::uuid;
  error_state text;
  error_message text;
begin
  begin
    select decrypted_secret into base_url from vault.decrypted_secrets where name = 'assignment_functions_url';
    select decrypted_secret into secret from vault.decrypted_secrets where name = 'assignment_pipeline_secret';
    if base_url is null or secret is null then
      return null;
    end if;
    -- A line break or space pasted into Vault around the URL: pg_net refuses the URL whole. Around the secret,
    -- it would sign with a key the functions never have (they refuse a secret with white space around it).
    base_url := pg_catalog.btrim(base_url, E' \t\r\n');
    secret := pg_catalog.btrim(secret, E' \t\r\n');
    timeout_ms := (private.settings_for(null)).dispatch_timeout_ms;
    return net.http_post(
      url := pg_catalog.rtrim(base_url, '/') || '/' || p_function,
      body := p_body,
      headers := pg_catalog.jsonb_build_object('Content-Type', 'application/json',
                                               'Authorization', 'Bearer ' || private.nudge_signature(secret, p_function, p_body)),
      timeout_milliseconds := timeout_ms);
  exception when others then
    get stacked diagnostics error_state = returned_sqlstate, error_message = message_text;
  end;
  -- Only the function, trigger, SQLSTATE and a scrubbed, shortened message: never the body or headers.
  perform private.record_event('assignment.dispatch', 'dispatch.failed', 'error',
    pg_catalog.jsonb_build_object('function', p_function, 'trigger', p_body ->> 'trigger', 'sqlstate', error_state,
                                  'error', private.scrub_and_cut(error_message, 200)),
    (select b.restaurant_id from public.bookings b where b.id = booking), booking);
  return null;
end $$;

create or replace function private.health_unchecked(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  worker_up boolean := true;
  job record;
  sweeper record;
  sweeper_age numeric;
  dispatch_configured boolean;
  result jsonb;
  problems text[] := '{}'::text[];
begin
  begin
    perform net.check_worker_is_up();
  exception when others then
    worker_up := false;
  end;
  select j.jobid, j.schedule, j.active into job from cron.job j where j.jobname = 'assignment-sweeper';
  select d.status, d.start_time into sweeper
    from cron.job_run_details d where d.jobid = job.jobid and d.start_time <= p_now
   order by d.start_time desc limit 1;
  sweeper_age := round(extract(epoch from p_now - sweeper.start_time));
  select count(*) = 2 into dispatch_configured from vault.decrypted_secrets
   where name in ('assignment_functions_url', 'assignment_pipeline_secret');

  select pg_catalog.jsonb_build_object(
    'checked_at', p_now,
    'mode', (select pg_catalog.jsonb_build_object('default', s.default_mode, 'rollout_percentage', s.rollout_percentage,
                                                  'kill_switch', s.kill_switch, 'shadow_candidate', s.shadow_candidate)
               from private.rollout_settings s),
    'queue_depth', (select count(*) from public.bookings
                     where assignment_state = any(private.queued_states())),
    'due_now', (select count(*) from public.bookings
                 where assignment_state = any(private.queued_states())
                   and next_attempt_at <= p_now),
    'oldest_due_seconds', (select round(extract(epoch from p_now - min(next_attempt_at)))
                             from public.bookings
                            where assignment_state = any(private.queued_states())
                              and next_attempt_at <= p_now),
    'in_progress', (select count(*) from public.bookings where assignment_state = 'assignment_in_progress'),
    'in_progress_by_restaurant', coalesce((select pg_catalog.jsonb_object_agg(restaurant_id, n) from (
        select restaurant_id, count(*) as n from public.bookings
         where assignment_state = 'assignment_in_progress' group by restaurant_id) x), '{}'::jsonb),
    'manual_review', (select count(*) from public.bookings where assignment_state = 'manual_review'),
    -- In review because the exact fallback's solver failed (HiGHS did not load or threw), not because nothing
    -- fits: each could have been re-seated, and the next will be too until the solver works.
    -- Stays ahead only (one whose time has passed needs no seat), whatever its reason ends with after it
    -- ran out of attempts ("attempts_exhausted: …; last: exact_search_budget_exhausted: …").
    'exact_solver_failed', (select count(*) from public.bookings
                             where assignment_state = 'manual_review' and start_at > p_now
                               and manual_review_reason like '%exact_search_budget_exhausted:%stopped when the solver failed%'),
    -- The plan's rollback triggers: manual review above 10 % of the bookings, a breaker open over 5 minutes.
    'manual_review_last_hour', (select pg_catalog.jsonb_build_object(
        'bookings', count(*) filter (where assignment_state <> 'cancelled'),
        'manual_review', count(*) filter (where assignment_state = 'manual_review'))
        from public.bookings where created_at > p_now - interval '1 hour'),
    'stuck', (select count(*) from ops.stuck_bookings),
    -- Seated parties whose longer stay could not be held: found from the event each such change records,
    -- and counted while the overlap lasts: moving the next booking, the party leaving, or the stay's end
    -- clears it.
    'seated_stays_overlapping', (select count(*) from public.bookings s
        where s.id in (select e.booking_id from public.observability_events e
                        where e.source = 'assignment.ops' and e.event_type = 'booking.seated_stay_overlaps'
                          and e.created_at > p_now - interval '1 day' and e.created_at <= p_now)
          and s.status = 'checked_in' and s.end_at > p_now
          and exists (select 1 from public.booking_table_assignments mine
                        join public.booking_table_assignments other
                          on other.table_id = mine.table_id and other.released_at is null
                         and other.booking_id <> s.id and other.during && private.blocked_window(s)
                       where mine.booking_id = s.id and mine.released_at is null)),
    -- holding: the restaurant's bookings not yet settled, which the breaker holds back. One that holds none
    -- (no booking since it opened, or the restaurant switched off) stops nobody: listed, not a problem.
    'open_breakers', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'restaurant_id', c.restaurant_id, 'state', c.state, 'since', c.opened_at, 'failures', c.consecutive_failures,
        'holding', case when (select m.mode from private.effective_mode(c.restaurant_id) m) = 'off' then 0
                        else (select count(*) from public.bookings b
                               where b.restaurant_id = c.restaurant_id
                                 and b.assignment_state = any(private.unsettled_states())) end))
        from private.circuit_breakers c where c.state <> 'closed'), '[]'::jsonb),
    'dispatch', pg_catalog.jsonb_build_object(
      'configured', dispatch_configured,
      'pg_net_worker_up', worker_up,
      'queued_requests', (select count(*) from net.http_request_queue),
      'failed_last_15_min', (select count(*) from net._http_response
                              where created > p_now - interval '15 minutes'
                                and (status_code is null or status_code >= 500)),
      'refused_last_15_min', (select count(*) from net._http_response
                               where created > p_now - interval '15 minutes' and status_code in (401, 403, 404)),
      'last_response_at', (select max(created) from net._http_response),
      -- Nudges pg_net would not take (an invalid URL, say): they leave no response, only this event.
      'not_sent_last_15_min', (select count(*) from public.observability_events e
                                where e.source = 'assignment.dispatch' and e.event_type = 'dispatch.failed'
                                  and e.created_at > p_now - interval '15 minutes' and e.created_at <= p_now),
      'latest_not_sent_error', (select e.context ->> 'error' from public.observability_events e
                                 where e.source = 'assignment.dispatch' and e.event_type = 'dispatch.failed'
                                   and e.created_at > p_now - interval '15 minutes' and e.created_at <= p_now
                                 order by e.created_at desc, e.id desc limit 1)),
    'sweeper', pg_catalog.jsonb_build_object(
      'scheduled', job.jobid is not null, 'active', coalesce(job.active, false), 'schedule', job.schedule,
      'last_status', sweeper.status, 'last_start', sweeper.start_time, 'seconds_since_last_start', sweeper_age,
      'alive', coalesce(job.active, false) and sweeper_age <= 120 and sweeper.status is distinct from 'failed'),
    -- The outbox keeps every message ever sent: each count reads only its rows, through a partial index.
    'notifications', pg_catalog.jsonb_build_object(
        'pending', (select count(*) from public.notification_outbox o where o.status in ('pending', 'sending')),
        -- Due and not taken: nothing is dispatching them (no dispatcher, or one without a usable sender).
        'oldest_due_seconds', (select round(extract(epoch from p_now - min(due.at)))
                                 from public.notification_outbox o,
                                      lateral (select case when o.status = 'pending' then o.next_attempt_at
                                                           else o.lease_expires_at end as at) due
                                where o.status in ('pending', 'sending') and due.at <= p_now),
        -- Waiting after six failures or more (about a minute of them) for another try: the sender is failing.
        'failing', (select count(*) from public.notification_outbox o
                     where o.status = 'pending' and o.attempts >= 6
                       and o.last_error is not null),
        -- The error of the latest failure: it happened its backoff before the next try.
        'latest_error', (select o.last_error from public.notification_outbox o
                          where o.status = 'pending' and o.attempts >= 6
                            and o.last_error is not null
                          order by o.next_attempt_at
                                   - pg_catalog.make_interval(secs => private.backoff_ms(o.attempts + 1, 1000, 3600000, 0) / 1000.0) desc,
                                   o.id desc
                          limit 1),
        'dead', (select count(*) from public.notification_outbox o where o.status = 'dead'),
        -- Dead of an outage (their retries ran out): a resend once the sender works sends them.
        'dead_resendable', (select count(*) from public.notification_outbox d join public.bookings b on b.id = d.booking_id
                             where d.status = 'dead' and coalesce(d.dead_because, 'retries_exhausted') = 'retries_exhausted'
                               and private.message_is_resendable(d, b, p_now)),
        -- Refused by the sender for good (an address it cannot take, or a change on its side): a problem for
        -- the hour after, so an operator sees it without one bad address degrading health for weeks.
        'refused_last_hour', (select count(*) from public.observability_events e
                               where e.source = 'notifications' and e.event_type = 'notification.failed'
                                 and e.created_at > p_now - interval '1 hour' and e.created_at <= p_now
                                 and e.context ->> 'dead_because' = 'refused'))
  ) into result;

  if not worker_up then problems := pg_catalog.array_append(problems, 'pg_net worker is down'); end if;
  if not dispatch_configured then problems := pg_catalog.array_append(problems, 'dispatch URL/secret missing from Vault'); end if;
  if (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dispatches are refused (401/403/404): check assignment_functions_url and assignment_pipeline_secret in Vault against the functions'' URL and ASSIGNMENT_PIPELINE_SECRET');
  end if;
  if (result ->> 'exact_solver_failed')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'the exact fallback''s solver failed for %s bookings now in review (HiGHS did not load or threw: see the functions'' logs, "exact fallback''s solver failed"); they may still be seated by hand or retried once it works',
      result ->> 'exact_solver_failed'));
  end if;
  if (result -> 'dispatch' ->> 'not_sent_last_15_min')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'nudges to the functions fail before pg_net takes them (%s in the last 15 minutes, the latest: %s): check assignment_functions_url in Vault',
      result -> 'dispatch' ->> 'not_sent_last_15_min', result -> 'dispatch' ->> 'latest_not_sent_error'));
  end if;
  if job.jobid is null or not job.active then
    problems := pg_catalog.array_append(problems, 'sweeper is not scheduled (cron job assignment-sweeper missing or inactive)');
  elsif sweeper.start_time is null then
    problems := pg_catalog.array_append(problems, 'sweeper has never run');
  elsif sweeper_age > 120 then
    problems := pg_catalog.array_append(problems, pg_catalog.format('sweeper has not started for %s s', sweeper_age));
  elsif sweeper.status = 'failed' then
    problems := pg_catalog.array_append(problems, 'sweeper''s last run failed (see cron.job_run_details)');
  end if;
  if (result ->> 'stuck')::int > 0 then problems := pg_catalog.array_append(problems, 'stuck bookings'); end if;
  if (result ->> 'seated_stays_overlapping')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'a seated party''s longer stay overlaps the next booking on its tables: give that booking other tables (ops.assign_tables)');
  end if;
  if exists (select 1 from pg_catalog.jsonb_array_elements(result -> 'open_breakers') o
              where (o ->> 'holding')::int > 0) then
    problems := pg_catalog.array_append(problems, 'open circuit breakers');
  end if;
  if exists (select 1 from pg_catalog.jsonb_array_elements(result -> 'open_breakers') o
              where o ->> 'state' = 'open' and (o ->> 'since')::timestamptz < p_now - interval '5 minutes'
                and (o ->> 'holding')::int > 0) then
    problems := pg_catalog.array_append(problems,
      'a circuit breaker has been open for more than 5 minutes (the rollout plan''s rollback trigger)');
  end if;
  -- Judged once the hour holds enough bookings for a share to mean something.
  if (result -> 'manual_review_last_hour' ->> 'bookings')::int >= 20
     and (result -> 'manual_review_last_hour' ->> 'manual_review')::int * 10
         > (result -> 'manual_review_last_hour' ->> 'bookings')::int then
    problems := pg_catalog.array_append(problems,
      'manual review above 10 % of the last hour''s bookings (the rollout plan''s rollback trigger)');
  end if;
  if coalesce((result ->> 'oldest_due_seconds')::int, 0) > 120 then problems := pg_catalog.array_append(problems, 'queue is falling behind'); end if;
  if coalesce((result -> 'notifications' ->> 'oldest_due_seconds')::int, 0) > 120 then
    problems := pg_catalog.array_append(problems,
      'guest messages have been due for over 2 minutes: if notifications.pending does not fall, nothing is sending them (is the notification-dispatcher function deployed with a usable NOTIFICATION_SENDER? it answers sender_misconfigured otherwise); if it falls, a backlog is draining');
  end if;
  if (result -> 'notifications' ->> 'failing')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'guest messages keep failing to send (%s waiting after six tries or more, the latest error: %s); they are retried for about five hours, then dead',
      result -> 'notifications' ->> 'failing', result -> 'notifications' ->> 'latest_error'));
  end if;
  if (result -> 'notifications' ->> 'refused_last_hour')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'the mail sender refused %s guest messages in the last hour, each dead at once: ops.dead_messages says why (an address it cannot take, or a change on its side); ops.resend_dead_messages sends them again once fixed',
      result -> 'notifications' ->> 'refused_last_hour'));
  end if;
  if (result -> 'notifications' ->> 'dead_resendable')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dead notifications about bookings still ahead: once the sender works, ops.resend_dead_messages queues them again');
  end if;
  return pg_catalog.jsonb_build_object(
    'status', case when not worker_up or not dispatch_configured
                        or (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then 'down'
                   when pg_catalog.cardinality(problems) > 0 then 'degraded' else 'ok' end,
    'problems', pg_catalog.to_jsonb(problems)) || result;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
