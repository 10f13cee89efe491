-- ops.health counts only the pipeline's own pg_net requests.
--
-- pg_net is one per project: its queue and its responses hold every caller's requests, the project's Database
-- Webhooks and its own net.http_* calls as well as the pipeline's nudges. Health counted them all, so one
-- webhook of the platform's answered 404 made the pipeline "down", telling the operator to check the
-- dispatch URL and secret in Vault, which were fine; an app's failing calls counted as failed dispatches and
-- its traffic as the pipeline's last response. (The local stack only ever carries the pipeline's.)
-- private.post_to_function now keeps the id pg_net answers in private.pipeline_requests, and health reads the
-- queue and the responses through it. The nightly prune drops ids after a day (pg_net keeps a response 6 h).
-- Bodies as in 20261227070000 (post_to_function), 20261227220000 (health_unchecked) and 20261227160000
-- (prune_old_rows, run_retention), with those changes.

-- Unlogged, as pg_net's own tables are: after a crash both start empty.
create unlogged table private.pipeline_requests (
  id bigint primary key,
  function_name text not null,
  sent_at timestamptz not null default pg_catalog.now()
);
comment on table private.pipeline_requests is
  'The pg_net requests the pipeline made (net.http_request_queue / net._http_response ids), so that ops.health counts the responses to these and not those of the project''s other pg_net callers; pruned after a day.';
alter table private.pipeline_requests enable row level security;
revoke all on private.pipeline_requests from public, anon, authenticated, service_role;

create or replace function private.post_to_function(p_function text, p_body jsonb)
returns bigint language plpgsql security definer set search_path = '' as $$
declare
  base_url text;
  secret text;
  timeout_ms integer;
  booking uuid := (p_body ->> 'booking_id')::uuid;
  error_state text;
  error_message text;
  request_id bigint;
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
    request_id := net.http_post(
      url := pg_catalog.rtrim(base_url, '/') || '/' || p_function,
      body := p_body,
      headers := pg_catalog.jsonb_build_object('Content-Type', 'application/json',
                                               'Authorization', 'Bearer ' || private.nudge_signature(secret, p_function, p_body)),
      timeout_milliseconds := timeout_ms);
    -- pg_net serves the whole project: health counts the responses to these requests only. (An id pg_net hands
    -- out again, after it was reinstalled, is this request's now.)
    insert into private.pipeline_requests (id, function_name) values (request_id, p_function)
    on conflict (id) do update set function_name = excluded.function_name, sent_at = excluded.sent_at;
    return request_id;
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
  -- Its latest run, found from the newest run of any job backwards (runid is the table's key, and each job's
  -- runs are numbered in the order they start): a few rows, where ordering by start_time read them all.
  -- (None to look for when the job is missing: the walk would read the whole history.)
  select d.status, d.start_time into sweeper
    from cron.job_run_details d where job.jobid is not null and d.jobid = job.jobid and d.start_time <= p_now
   order by d.runid desc limit 1;
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
    -- In review with the visit not over: what an operator can still act on (ops.manual_review_queue lists
    -- them). A review whose visit ended stays in review, but is history. Stays last 12 hours at most, so the
    -- start bound reads bookings_in_review_idx from 12 hours back instead of every review ever.
    'manual_review', (select count(*) from public.bookings
                       where assignment_state = 'manual_review'
                         and start_at > p_now - interval '12 hours' and end_at > p_now),
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
    -- Floor-plan re-checks not done 15 minutes after the change (a lock held, a booking that cannot be changed;
    -- a large re-plan, at 20 bookings a pass and one pass every 5 s on hosted Supabase, takes a few minutes).
    'floor_plan_recheck_pending', (select pg_catalog.jsonb_build_object(
        'restaurants', count(*),
        'oldest_seconds', round(extract(epoch from p_now - min(c.pending_since))))
        from private.floor_plan_rechecks c where c.pending_since < p_now - interval '15 minutes'),
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
      -- The pipeline's own requests: pg_net also carries the project's Database Webhooks and its own calls.
      'queued_requests', (select count(*) from net.http_request_queue q
                           where exists (select 1 from private.pipeline_requests p where p.id = q.id)),
      'failed_last_15_min', (select count(*) from net._http_response r
                              where r.created > p_now - interval '15 minutes'
                                and (r.status_code is null or r.status_code >= 500)
                                and exists (select 1 from private.pipeline_requests p where p.id = r.id)),
      'refused_last_15_min', (select count(*) from net._http_response r
                               where r.created > p_now - interval '15 minutes' and r.status_code in (401, 403, 404)
                                 and exists (select 1 from private.pipeline_requests p where p.id = r.id)),
      -- Newest first through the responses' index by time (pg_net indexes no other column of them).
      'last_response_at', (select r.created from net._http_response r
                            where exists (select 1 from private.pipeline_requests p where p.id = r.id)
                            order by r.created desc limit 1),
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
        -- Dead for a reason someone can act on: an outage, or the sender's refusal. Those that died for want of
        -- an address (one for every booking made without one) are the platform's choice, listed by
        -- ops.dead_messages, and would make this count read them all.
        'dead', (select count(*) from public.notification_outbox o
                  where o.status = 'dead' and coalesce(o.dead_because, 'retries_exhausted') in ('retries_exhausted', 'refused')),
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
  if (result -> 'floor_plan_recheck_pending' ->> 'restaurants')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'the floor-plan re-check of %s restaurants has waited %s s: confirmed bookings may hold tables the new floor plan does not allow (a lock held by a transaction left open, or bookings it cannot change: see floor_plan.replan_failed events)',
      result -> 'floor_plan_recheck_pending' ->> 'restaurants', result -> 'floor_plan_recheck_pending' ->> 'oldest_seconds'));
  end if;
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

create or replace function private.prune_old_rows(p_now timestamptz default now(), p_limit integer default null,
                                       p_record boolean default true)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.rollout_settings;
  events integer;
  comparisons integer;
  audit integer;
  job_runs integer := 0;
  requests integer;
begin
  if p_limit is not null and p_limit < 1 then
    raise exception using errcode = 'AS005', message = 'limit is at least 1 row, or null for every row';
  end if;
  select * into s from private.rollout_settings;
  -- Oldest first, through each table's index by time; no limit (null) deletes all of them.
  delete from public.observability_events where id in (
    select e.id from public.observability_events e
     where e.created_at < p_now - pg_catalog.make_interval(days => s.event_retention_days)
     order by e.created_at limit p_limit);
  get diagnostics events = row_count;
  delete from public.shadow_comparisons where id in (
    select c.id from public.shadow_comparisons c
     where c.created_at < p_now - pg_catalog.make_interval(days => s.shadow_retention_days)
     order by c.created_at limit p_limit);
  get diagnostics comparisons = row_count;
  delete from public.pipeline_settings_audit where id in (
    select a.id from public.pipeline_settings_audit a
     where a.changed_at < p_now - pg_catalog.make_interval(days => s.audit_retention_days)
     order by a.changed_at limit p_limit);
  get diagnostics audit = row_count;
  -- pg_net keeps a response 6 hours; a day covers it.
  delete from private.pipeline_requests where id in (
    select r.id from private.pipeline_requests r where r.sent_at < p_now - interval '1 day'
     order by r.id limit p_limit);
  get diagnostics requests = row_count;
  begin
    delete from cron.job_run_details where runid in (
      select d.runid from cron.job_run_details d join cron.job j on j.jobid = d.jobid
       where j.jobname = any(private.pipeline_cron_jobs()) and d.start_time < p_now - interval '1 day'
       order by d.runid limit p_limit);
    get diagnostics job_runs = row_count;
  exception when insufficient_privilege then
    -- A platform that keeps pg_cron's history to itself: its rows are its to prune.
    null;
  end;
  if p_record and events + comparisons + audit + job_runs + requests > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                    'pipeline_settings_audit', audit, 'cron_job_runs', job_runs,
                                    'pipeline_requests', requests), null, null);
  end if;
  return pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                       'pipeline_settings_audit', audit, 'cron_job_runs', job_runs,
                                    'pipeline_requests', requests);
end $$;
comment on function private.prune_old_rows(timestamptz, integer, boolean) is
  'Delete what is older than its retention: events, shadow comparisons, the settings audit (ops.set_retention), this pipeline''s pg_cron runs older than a day and its pg_net request ids older than a day; at most p_limit rows of each, oldest first (null: all). Records retention.pruned unless p_record is false; answers how many of each it deleted.';

create or replace procedure private.run_retention(p_batch integer default 10000)
language plpgsql as $$
declare
  -- One cut-off for every round: rows that age past it while the prune runs wait for the next night.
  cutoff timestamptz := pg_catalog.clock_timestamp();
  round jsonb;
  total jsonb := '{"observability_events": 0, "shadow_comparisons": 0, "pipeline_settings_audit": 0, "cron_job_runs": 0,
                    "pipeline_requests": 0}'::jsonb;
  rounds integer := 0;
begin
  if p_batch is null or p_batch < 1 then
    raise exception using errcode = 'AS005', message = 'batch is at least 1 row';
  end if;
  loop
    round := private.prune_old_rows(cutoff, p_batch, false);
    rounds := rounds + 1;
    total := (select pg_catalog.jsonb_object_agg(t.key, t.value::integer + (round ->> t.key)::integer)
                from pg_catalog.jsonb_each_text(total) t);
    commit;
    exit when not exists (select 1 from pg_catalog.jsonb_each_text(round) r where r.value::integer >= p_batch);
  end loop;
  if (select sum(t.value::integer) from pg_catalog.jsonb_each_text(total) t) > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      total || pg_catalog.jsonb_build_object('rounds', rounds), null, null);
  end if;
end $$;

do $$
begin
  execute pg_catalog.format('comment on function ops.health(timestamptz) is %L',
    pg_catalog.obj_description('ops.health(timestamptz)'::regprocedure, 'pg_proc')
    || ' dispatch counts the pipeline''s own pg_net requests only (queued, failed, refused, last_response_at), not those of the project''s other pg_net callers such as Database Webhooks.');
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
