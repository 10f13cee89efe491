-- A restaurant switched off does not trip the review-rate alarm.
--
-- ops.health raises the rollout plan's rollback trigger when more than 10 % of the last hour's bookings (from 20)
-- are in manual review. A restaurant whose automatic assignment is switched off (mode off) sends every booking
-- to review by design (automatic_assignment_off), and they counted: one such restaurant taking a tenth of the
-- fleet's bookings kept ops.health degraded for as long as it was off, a problem no rollback clears and one
-- that hid a real rise in V3's reviews beside it. Found by an attacker's review of what operators are told.
--
-- Now the rate, and its by_reason breakdown, count the bookings the pipeline decides: those leased while their
-- restaurant was off (assignment_mode off) are left out of both sides, as the rollout gates' V3 figures leave
-- them out (ops.pipeline_metrics by mode), unless one is in review for another reason: a booking sent back
-- once the restaurant is on again and escalated by the sweeper without a lease (the coordinator unreachable)
-- keeps the mode it was last leased in, and that review is a fault the alarm is for. What it leaves: the rate
-- still counts the bookings made in the last hour by the state they are in now, so reviews an operator clears
-- quickly stop counting, and a floor-plan change that sends older bookings to review does not count
-- (ops.pipeline_metrics' sent_to_review counts both).
--
-- private.health_of_parts: as private.health_unchecked in 20261228050000 (renamed in 20261229020000), with the
-- filter; private.health_unchecked: as in 20261229020000, with the same filter on by_reason.

-- Whether a booking is left out of the review rate as one of a restaurant switched off: leased while it was
-- off, and not in review for a reason other than that.
create function private.left_out_as_switched_off(p_mode text, p_state text, p_reason text)
returns boolean language sql immutable set search_path = '' as $$
  select p_mode is not distinct from 'off'
     and (p_state <> 'manual_review' or pg_catalog.split_part(p_reason, ':', 1) = 'automatic_assignment_off')
$$;

create or replace function private.health_of_parts(p_now timestamptz default now())
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
    -- Of the bookings the pipeline decides: not those of a restaurant switched off, every one of which goes to
    -- review by design (automatic_assignment_off), which no rollback changes (private.left_out_as_switched_off).
    'manual_review_last_hour', (select pg_catalog.jsonb_build_object(
        'bookings', count(*) filter (where assignment_state <> 'cancelled'),
        'manual_review', count(*) filter (where assignment_state = 'manual_review'))
        from public.bookings
       where created_at > p_now - interval '1 hour'
         and not private.left_out_as_switched_off(assignment_mode, assignment_state, manual_review_reason)),
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
    -- Stays under way, their party not yet arrived, on tables a floor-plan change no longer allows: found from
    -- the event the re-check records, and counted until they are given other tables, the party is checked in,
    -- the booking is cancelled or the stay ends.
    -- Each looked up by its id (a subquery per event's booking, which the planner cannot turn into a read of
    -- every booking, as it may a join).
    'stays_under_way_breaking_rules', (select count(*) from (
        select distinct e.booking_id from public.observability_events e
         where e.source = 'assignment.sweeper' and e.event_type = 'floor_plan.stay_under_way_breaks_rules'
           and e.created_at > p_now - interval '12 hours' and e.created_at <= p_now) x
        where (select s.assignment_state = 'confirmed' and s.status = 'confirmed' and s.end_at > p_now
                      and not private.holds_its_stay(s)
                 from public.bookings s where s.id = x.booking_id)),
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
  if (result ->> 'stays_under_way_breaking_rules')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      '%s bookings whose stay has begun, their party not yet arrived, hold tables the floor plan no longer allows (floor_plan.stay_under_way_breaks_rules events name them): give them other tables (ops.assign_tables), or check the party in where it sits',
      result ->> 'stays_under_way_breaking_rules'));
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


create or replace function private.health_unchecked(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  parts jsonb := private.health_of_parts(p_now);
  problems text[] := array(select pg_catalog.jsonb_array_elements_text(parts -> 'problems'));
  failing jsonb;
  queued_seconds integer;
  lock_waits jsonb;
  reviews_by_reason jsonb;
  breakers record;
  added text[] := '{}'::text[];
begin
  -- Per function of the pipeline, how many of its newest answers within 15 minutes failed in a row (up to
  -- five): its responses, newest first, read through pg_net's index by time.
  select coalesce(pg_catalog.jsonb_object_agg(f.name, a.in_a_row), '{}'::jsonb) into failing
    from pg_catalog.unnest(array['assignment-coordinator', 'notification-dispatcher']) f(name),
         lateral (select coalesce(min(x.n) filter (where not x.failed) - 1, count(*)) as in_a_row
                    from (select r.status_code is null or r.status_code >= 500 as failed,
                                 pg_catalog.row_number() over (order by r.created desc, r.id desc) as n
                            from net._http_response r
                           where r.created > p_now - interval '15 minutes' and r.created <= p_now
                             and exists (select 1 from private.pipeline_requests p
                                          where p.id = r.id and p.function_name = f.name)
                           order by r.created desc, r.id desc limit 5) x) a
   where a.in_a_row > 0;
  select round(extract(epoch from p_now - min(p.sent_at)))::integer into queued_seconds
    from net.http_request_queue q join private.pipeline_requests p on p.id = q.id;
  select pg_catalog.jsonb_build_object('begins', count(*), 'restaurants', count(distinct e.restaurant_id)) into lock_waits
    from public.observability_events e
   where (e.source, e.event_type) in (('assignment.coordinator', 'coordinator.lock_contention'),
                                      ('auto_assign', 'auto_assign.lock_contention'),
                                      ('assignment.rollout', 'rollout.lock_contention'))
     and e.created_at > p_now - interval '15 minutes' and e.created_at <= p_now
     and e.context ->> 'lock' = 'restaurant';

  -- What the last hour's reviews are for, so a sold-out night (no_table_fits) is told apart from a fault when
  -- the review rate is raised: the reviews that rate counts (not those of a restaurant switched off).
  select coalesce(pg_catalog.jsonb_object_agg(r.code, r.n), '{}'::jsonb) into reviews_by_reason
    from (select pg_catalog.split_part(b.manual_review_reason, ':', 1) as code, count(*) as n
            from public.bookings b
           where b.created_at > p_now - interval '1 hour' and b.assignment_state = 'manual_review'
             and not private.left_out_as_switched_off(b.assignment_mode, b.assignment_state, b.manual_review_reason)
           group by 1) r;

  select coalesce(pg_catalog.array_agg(pg_catalog.format(
           'the %s function''s last %s answers to the pipeline''s nudges failed (5xx, none within pg_net''s timeout, or no connection: see its logs, and its URL in Vault): %s',
           f.key, f.value,
           case f.key when 'assignment-coordinator'
                then 'until it answers, bookings are nudged again and go to review as coordinator_unreachable after 12 dispatches'
                else 'guest messages wait, and are tried again for about five hours before they are dead' end)
           order by f.key), '{}'::text[])
    into added
    from pg_catalog.jsonb_each_text(failing) f where f.value::int >= 3;
  if queued_seconds > 60 then
    added := added || pg_catalog.format(
      'pg_net has sent none of the pipeline''s nudges queued in the last %s s (%s waiting): its worker is stalled (select net.worker_restart()), or a request it is waiting on hangs',
      queued_seconds, parts -> 'dispatch' ->> 'queued_requests');
  end if;
  if (lock_waits ->> 'begins')::int >= 3 then
    added := added || pg_catalog.format(
      '%s begins gave up waiting 5 s for their restaurant''s lock in the last 15 minutes (restaurants: %s; coordinator.lock_contention events name them): a transaction holds it, an operator''s left open or a long bulk update (see pg_stat_activity); the bookings are nudged again, and go to review as restaurant_locked if it lasts',
      lock_waits ->> 'begins', lock_waits ->> 'restaurants');
  end if;

  -- The parts' bare "open circuit breakers" says where and what next.
  select count(*) as restaurants, coalesce(sum((o ->> 'holding')::int), 0) as holding into breakers
    from pg_catalog.jsonb_array_elements(parts -> 'open_breakers') o where (o ->> 'holding')::int > 0;
  problems := pg_catalog.array_replace(problems, 'open circuit breakers', pg_catalog.format(
    'open circuit breakers at %s restaurants, holding %s bookings back (open_breakers names them; their coordinator.error events say why): once the cause is fixed, ops.reset_circuit_breaker(restaurant, actor, reason) lets them through, and ops.retry_bookings(''circuit_open'', ...) brings back those sent to review',
    breakers.restaurants, breakers.holding));

  return parts
    || pg_catalog.jsonb_build_object(
         'dispatch', (parts -> 'dispatch')
                     || pg_catalog.jsonb_build_object('answers_failing', failing, 'oldest_queued_seconds', queued_seconds),
         'lock_waits_last_15_min', lock_waits,
         'manual_review_last_hour', (parts -> 'manual_review_last_hour')
                                    || pg_catalog.jsonb_build_object('by_reason', reviews_by_reason),
         'problems', pg_catalog.to_jsonb(problems || added),
         'status', case when parts ->> 'status' = 'ok' and pg_catalog.cardinality(added) > 0 then 'degraded'
                        else parts ->> 'status' end);
end $$;


revoke all on all routines in schema private from public, anon, authenticated;
