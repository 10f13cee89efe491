-- A stay under way that a floor-plan change breaks is shown to an operator.
--
-- The re-check (20261227220000) sends back to be planned the confirmed bookings ahead whose tables a change
-- breaks, and leaves a stay under way where it is (20261210140000: its party may be seated there). A stay that
-- had begun but whose party had not arrived (status still confirmed) was left silently: a table taken out of
-- service at 19:02, or a change made just before 19:00 and judged after it (the re-check waits for the floor
-- plan to be left alone for 10 s), left the 19:00 booking on the broken table with nothing recorded and
-- ops.health ok, and the restaurant's mark was then cleared, so nothing looked again. Its guests were shown to
-- that table on arrival.
-- Such a stay is still left at its tables: moving it could move a party that sits there without the platform
-- having checked it in. The re-check now records floor_plan.stay_under_way_breaks_rules for it (once in the
-- time the restaurant waited for the re-check), and ops.health counts those stays
-- (stays_under_way_breaking_rules, a problem) until they are given other tables, their party is checked in,
-- the booking is cancelled or the stay ends, as it does for a seated party's overlapping stay.
-- Bodies as in 20261227220000 (replan_broken_holds) and 20261228010000 (health_unchecked), with those changes.

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
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
  -- A stay under way whose party has not arrived is left at its tables (the party may be walking in to them),
  -- but an operator is told, once in the time the restaurant waited for this re-check: nothing else would,
  -- and the mark that brought the change here is gone once the bookings ahead are done. Stamped with p_now,
  -- the time the stay is judged at (the clock, when the re-check's cron job runs it).
  perform private.record_event('assignment.sweeper', 'floor_plan.stay_under_way_breaks_rules', 'warning',
            '{"reason": "stay_under_way"}'::jsonb, p_restaurant_id, k.id, p_now)
     from public.bookings k
    where k.restaurant_id = p_restaurant_id and k.start_at <= p_now and k.start_at > p_now - interval '12 hours'
      and k.end_at > p_now and k.assignment_state = 'confirmed' and k.status = 'confirmed'
      and not private.holds_its_stay(k)
      and not exists (select 1 from public.observability_events e
                       where e.booking_id = k.id and e.event_type = 'floor_plan.stay_under_way_breaks_rules'
                         and e.created_at >= coalesce(episode, '-infinity'));
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy, 'left', left_over);
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

do $$
begin
  execute pg_catalog.format('comment on function ops.health(timestamptz) is %L',
    pg_catalog.obj_description('ops.health(timestamptz)'::regprocedure, 'pg_proc')
    || ' stays_under_way_breaking_rules: bookings whose stay has begun, their party not yet arrived, on tables a floor-plan change no longer allows (floor_plan.stay_under_way_breaks_rules events name them), a problem until they are given other tables, checked in, cancelled or over.');
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
