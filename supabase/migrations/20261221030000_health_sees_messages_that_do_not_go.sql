-- Health sees guest messages that do not go, long before they are dead.
--
-- ops.health counted messages pending and dead, and raised only dead ones: a mail provider refusing the
-- pipeline's token (401) or down for an afternoon left every confirmation retried for about five hours
-- before health said anything, and a dispatcher with no usable sender (it claims nothing and answers
-- sender_misconfigured) left them all waiting with health "ok". Now health reports, and raises:
--   * notifications.oldest_due_seconds: how long the oldest message due (pending, or a claim whose lease ran
--     out) has waited to be taken; over 2 minutes nothing is dispatching them (the sweeper asks the
--     dispatcher every 5 s while any is due);
--   * notifications.failing: messages that failed four times or more (about 15 s of failures) and are still
--     retried, with the latest of their errors (latest_error, scrubbed when it was stored; it names an answer
--     such as "webhook answered 401", never an address).
-- Both read the pending messages only, through notification_outbox_due_idx. Body as in 20261221000000 with
-- those additions.

create or replace function ops.health(p_now timestamptz default now())
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
    'open_breakers', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'restaurant_id', c.restaurant_id, 'state', c.state, 'since', c.opened_at, 'failures', c.consecutive_failures))
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
      'last_response_at', (select max(created) from net._http_response)),
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
        -- Failed four times or more (about 15 s of failures) and still retried: the sender is failing.
        'failing', (select count(*) from public.notification_outbox o
                     where o.status in ('pending', 'sending') and o.attempts >= 4 and o.last_error is not null),
        'latest_error', (select o.last_error from public.notification_outbox o
                          where o.status in ('pending', 'sending') and o.attempts >= 4 and o.last_error is not null
                          order by o.next_attempt_at desc, o.id desc limit 1),
        'dead', (select count(*) from public.notification_outbox o where o.status = 'dead'),
        'dead_resendable', (select count(*) from public.notification_outbox d join public.bookings b on b.id = d.booking_id
                             where d.status = 'dead' and private.message_is_resendable(d, b, p_now)))
  ) into result;

  if not worker_up then problems := pg_catalog.array_append(problems, 'pg_net worker is down'); end if;
  if not dispatch_configured then problems := pg_catalog.array_append(problems, 'dispatch URL/secret missing from Vault'); end if;
  if (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dispatches are refused (401/403/404): check assignment_functions_url and assignment_pipeline_secret in Vault against the functions'' URL and ASSIGNMENT_PIPELINE_SECRET');
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
  if pg_catalog.jsonb_array_length(result -> 'open_breakers') > 0 then problems := pg_catalog.array_append(problems, 'open circuit breakers'); end if;
  if exists (select 1 from private.circuit_breakers c where c.state = 'open' and c.opened_at < p_now - interval '5 minutes') then
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
      'guest messages due for over 2 minutes are not being sent: check that the notification-dispatcher function is deployed with a usable NOTIFICATION_SENDER (it answers sender_misconfigured otherwise)');
  end if;
  if (result -> 'notifications' ->> 'failing')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'guest messages keep failing to send (%s retried, the latest error: %s); they are retried for about five hours, then dead',
      result -> 'notifications' ->> 'failing', result -> 'notifications' ->> 'latest_error'));
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

comment on function ops.health(timestamptz) is
  'One-line pipeline health: status ok | degraded | down with the problems found, queue depth, oldest due booking, in-progress counts, open breakers, pg_net worker and dispatch configuration (a dispatch refused with 401/403/404 is a configuration problem: down), seated parties whose longer stay overlaps the next booking on their tables (seated_stays_overlapping: a problem until that booking is moved or the party leaves), sweeper liveness (scheduled, active, a run started in the last 2 minutes, last run not failed), guest messages (pending; oldest_due_seconds, a problem over 2 minutes: nothing dispatches them; failing, those failed four times or more and still retried, a problem, with the latest error; dead: every dead message; dead_resendable: those about bookings still ahead that ops.resend_dead_messages would queue, a problem), and the rollout plan''s rollback triggers: a breaker open over 5 minutes, manual review above 10 % of the last hour''s bookings (judged from 20 bookings). p_now is for tests.';
