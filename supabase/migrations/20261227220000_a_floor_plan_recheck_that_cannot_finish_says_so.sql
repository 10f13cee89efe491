-- A floor-plan re-check that cannot finish says so, and one booking it cannot change holds back no other.
--
-- A review of liveness found two ways a re-check could leave confirmed bookings on tables the new floor plan
-- forbids, with ops.health saying ok:
--   1. replan_broken_holds sent the broken bookings back to be planned in one go: one that could not be changed
--      (a platform's trigger refusing the row, as 20261227080000 met in the sweeper) failed the whole re-check,
--      undoing the others it had sent back, and every later try failed the same way, at most once an hour,
--      leaving only a floor_plan.recheck_failed event. Each booking is now changed on its own: one that fails
--      is recorded (floor_plan.replan_failed, with its sqlstate) and the others go on; one whose row another
--      transaction holds is passed over at once (never waited for under the restaurant lock). Either keeps the
--      restaurant marked: tried again further back each time (10 s doubling to an hour) once nothing else is
--      left to send back, with floor_plan.recheck_failed recorded when a booking failed.
--   2. A restaurant whose lock stayed held (an operator's transaction left open) went to the back of the queue
--      at every pass, with nothing recorded, for as long as the lock was held.
-- private.floor_plan_rechecks.pending_since keeps when the oldest change not yet re-checked was made, through
-- later edits, busy passes and failures, until a pass finds nothing left to do; ops.health reports re-checks
-- pending for over 15 minutes (floor_plan_recheck_pending: how many restaurants and the oldest's age), a problem.
-- Each booking sent back takes subtransactions (its own, and its nudge's), and a transaction with more than 64
-- that committed slows every snapshot in the cluster until it ends: a pass sends back 20 at most, and the rest
-- go in the next pass, due at once; a failure or a busy row aborts its subtransaction and does not count. The
-- mark is taken with the pass (skip locked): a restaurant whose mark an edit in flight holds is passed over for
-- the next, and the edit, once committed, marks it again; an edit committing during a pass waits for it.
-- replan_broken_holds returns what it did as jsonb now (replanned, failed, busy, left), so it is dropped and
-- created again. Bodies as in 20261227190000 (replan_broken_holds), 20261210140000 (recheck_floor_plans) and
-- 20261227130000 (health_unchecked), with those changes.

alter table private.floor_plan_rechecks
  add column pending_since timestamptz not null default pg_catalog.clock_timestamp();
comment on column private.floor_plan_rechecks.pending_since is
  'When the oldest change not yet re-checked was made: kept through later changes, busy passes and failed tries; ops.health reports a re-check pending for over 15 minutes.';

drop function private.replan_broken_holds(uuid, timestamptz);
create function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  b public.bookings;
  one uuid;
  replanned integer := 0;
  failed integer := 0;
  busy integer := 0;
  left_over integer := 0;
  seen pg_catalog.pg_snapshot;
  -- Since when the restaurant has waited for a re-check: a booking's failure is recorded once in that time.
  episode timestamptz := (select c.pending_since from private.floor_plan_rechecks c
                           where c.restaurant_id = p_restaurant_id);
begin
  -- The scan's own snapshot, read in the same statement: what it saw.
  select pg_catalog.array_agg(k.id order by k.start_at, k.id), pg_catalog.pg_current_snapshot() into broken, seen
    from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  -- Then the lock, always: a commit that checked its tables before the change may still have been in flight,
  -- and only once it is done can its booking be seen. Only the bookings ahead whose row or holds the scan may
  -- not have seen are looked at again under it, so the lock is held briefly however many lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.may_be_unseen_by(k.xmin, seen)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.may_be_unseen_by(a.xmin, seen)))
       and not private.holds_its_stay(k));
  -- Each on its own: one that cannot be changed, or whose row is held, holds back no other. 20 sent back a pass.
  for one in select k.id from public.bookings k where k.id = any(broken) order by k.start_at, k.id loop
    if replanned >= 20 then
      left_over := left_over + 1;
      continue;
    end if;
    begin
      select * into b from public.bookings k where k.id = one for update nowait;
      if b.assignment_state = 'confirmed' and b.status = 'confirmed' and b.start_at > pg_catalog.now()
         and not private.holds_its_stay(b) then
        perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
          'rule_changed: the floor plan changed and its tables no longer seat it under the rules', '{}'::jsonb, 'system');
        perform private.nudge(b.id, 'modification');
        replanned := replanned + 1;
      end if;
    exception
      when lock_not_available then
        busy := busy + 1;
      when others then
        failed := failed + 1;
        if not exists (select 1 from public.observability_events e
                        where e.booking_id = one and e.event_type = 'floor_plan.replan_failed'
                          and e.created_at >= coalesce(episode, '-infinity')) then
          -- Stamped by the clock, as pending_since is: a sweep's transaction may have begun before the mark.
          perform private.record_event('assignment.sweeper', 'floor_plan.replan_failed', 'error',
            pg_catalog.jsonb_build_object('reason', 'replan_failed', 'sqlstate', sqlstate), p_restaurant_id, one,
            pg_catalog.clock_timestamp());
        end if;
    end;
  end loop;
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy, 'left', left_over);
end $$;

-- A re-check that failed, whole or for some bookings: recorded, and its restaurant tried again further back
-- each time (10 s doubling to an hour). The caller holds the mark.
create function private.back_off_recheck(p_restaurant_id uuid, p_failures integer, p_context jsonb)
returns void language plpgsql set search_path = '' as $$
begin
  perform private.record_event('assignment.sweeper', 'floor_plan.recheck_failed', 'error',
    pg_catalog.jsonb_build_object('reason', 'recheck_failed', 'failures', p_failures + 1) || p_context,
    p_restaurant_id, null);
  update private.floor_plan_rechecks c
     set changed_at = pg_catalog.clock_timestamp()
                      + least(interval '1 hour', interval '10 seconds' * (2 ^ least(p_failures, 10))),
         failures = c.failures + 1
   where c.restaurant_id = p_restaurant_id;
end $$;

create or replace function private.recheck_floor_plans(p_now timestamptz default pg_catalog.clock_timestamp(),
                                                       p_settle interval default interval '10 seconds',
                                                       p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r record;
  done jsonb;
  wait_before text := pg_catalog.current_setting('lock_timeout');
begin
  -- The mark is held for the pass: one an edit in flight holds is passed over (that edit marks it again).
  select c.restaurant_id, c.changed_at, c.failures into r from private.floor_plan_rechecks c
   where c.changed_at <= p_now - p_settle and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
   order by c.changed_at limit 1
     for update skip locked;
  if not found then
    return pg_catalog.jsonb_build_object('restaurants', 0, 'replanned', 0);
  end if;
  begin
    perform pg_catalog.set_config('lock_timeout', '1s', true);
    done := private.replan_broken_holds(r.restaurant_id, p_now);
  exception when lock_not_available then
    -- Busy: to the back of the queue.
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp()
     where c.restaurant_id = r.restaurant_id;
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'busy', true);
  when others then
    perform private.back_off_recheck(r.restaurant_id, r.failures, pg_catalog.jsonb_build_object('sqlstate', sqlstate));
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'failed', true);
  end;
  perform pg_catalog.set_config('lock_timeout', wait_before, true);
  if (done ->> 'left')::int > 0 then
    -- More than a pass sends back: the next pass is due at once.
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp() - p_settle
     where c.restaurant_id = r.restaurant_id;
  elsif (done ->> 'failed')::int > 0 then
    -- What could be sent back was; the rest is tried again further back each time.
    perform private.back_off_recheck(r.restaurant_id, r.failures,
                                     pg_catalog.jsonb_build_object('bookings_failed', done -> 'failed'));
  elsif (done ->> 'busy')::int > 0 then
    -- Rows another transaction holds: to the back of the queue, as when the restaurant is busy.
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp()
     where c.restaurant_id = r.restaurant_id;
  else
    delete from private.floor_plan_rechecks c where c.restaurant_id = r.restaurant_id;
  end if;
  return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id,
                                       'replanned', (done ->> 'replanned')::int)
         || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
              'bookings_failed', nullif((done ->> 'failed')::int, 0),
              'bookings_busy', nullif((done ->> 'busy')::int, 0),
              'bookings_left', nullif((done ->> 'left')::int, 0)));
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

do $$
begin
  execute pg_catalog.format('comment on function ops.health(timestamptz) is %L',
    pg_catalog.obj_description('ops.health(timestamptz)'::regprocedure, 'pg_proc')
    || ' floor_plan_recheck_pending: restaurants whose floor-plan re-check has waited over 15 minutes since the change, and the oldest''s age, a problem (confirmed bookings may hold tables the new floor plan does not allow).');
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
