-- Reviews whose visit is over are not read again by what runs every few seconds.
--
-- A review of the pipeline's routine queries against a platform's history (a million bookings a month, a few
-- per cent of them ending in review, events kept 30 days, bookings never pruned) found reads that grow with
-- every booking ever made rather than with what is open:
--   * a booking stays in manual_review after its visit unless an operator acts, so reviews pile up for good,
--     and the only index that found them (bookings_assignment_state_idx, by state and creation time) could
--     not skip those whose time has passed. public.review_reseating_due, which the cron job
--     assignment-reseating-nudge calls every 5 s and every drain that runs dry calls again, found those still
--     ahead by walking every booking's entry in bookings_restaurant_start_idx (or every review, by state); so
--     did ops.health's exact_solver_failed;
--   * ops.health's manual_review counted every review ever made: a number that only grows, meaningless as a
--     signal. It counts the reviews whose visit is not over now;
--   * ops.manual_review_queue listed every review ever made, the oldest first, each with its free tables and
--     alternatives worked out: after a year an operator opening it in Studio met a year of reviews nobody can
--     act on, before today's (or a timeout). It lists the reviews whose visit is not over, soonest first;
--     p_include_ended => true lists all of them as before;
--   * ops.health's notifications.dead counted every dead message ever, and its dead_resendable looked for
--     those an outage killed (which a resend could send) among them, while every booking made without an
--     e-mail address leaves one (no_address). dead counts those that died of an outage or a refusal now, and
--     a partial index holds them alone (dead_resendable's are among them);
--   * ops.health's read of the sweeper's latest run sorted pg_cron's run history (three jobs every 5 s, about
--     50 000 rows a day, unindexed but by runid) on every call. It walks runid backwards;
--   * a review's stored re-seating offers named the bookings they move and their tables by joining the
--     offer's ids to public.bookings and public.restaurant_tables, which the planner, counting on a hundred
--     ids, could answer by reading either table whole: each row of the queue read every booking of every
--     restaurant once per offer. They are looked up by id.
-- bookings_in_review_idx holds reviews only (a few per cent of bookings), keyed by start: what is still ahead
-- is a range of it. Building an index reads its table once and holds off writes to it until the migration
-- commits: on a large hosted database, build both first with CREATE INDEX CONCURRENTLY under the same names
-- (docs/configuration.md), and this migration keeps them. It waits at most 10 s for each table.
-- private.health_unchecked: body as in 20261227070000, with the manual_review count and the sweeper's run read
-- as above; private.seating_alternatives: body as in 20261211000000, with the lookups by id.

set lock_timeout = '10s';
create index if not exists bookings_in_review_idx on public.bookings (start_at) where assignment_state = 'manual_review';
create index if not exists notification_outbox_dead_to_act_on_idx on public.notification_outbox (booking_id)
 where status = 'dead' and coalesce(dead_because, 'retries_exhausted') in ('retries_exhausted', 'refused');
reset lock_timeout;

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

create or replace function private.seating_alternatives(b public.bookings, p_limit integer default 3)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  free jsonb := private.free_seating_alternatives(b, p_limit);
  stored jsonb := private.current_reseating_offers(b);
begin
  if stored is null or pg_catalog.jsonb_array_length(stored) = 0 or coalesce(p_limit, 0) < 1 then
    return free;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(a.alternative order by abs((a.alternative ->> 'offset_minutes')::integer),
                                         (a.alternative ->> 'start_at')::timestamptz), '[]'::jsonb)
      from (select x.alternative from (
              select f as alternative from pg_catalog.jsonb_array_elements(free) f
              union all
              select private.alternative_json(b, (o ->> 'start_at')::timestamptz, pg_catalog.jsonb_build_object(
                       'ids', o -> 'table_ids',
                       'numbers', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                     from public.restaurant_tables t
                                    where t.id = any(array(select i::uuid from pg_catalog.jsonb_array_elements_text(o -> 'table_ids') i)))))
                     || pg_catalog.jsonb_build_object('moves', (
                          select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'booking_id', m.move ->> 'booking_id', 'reference', m.reference,
                                   'from', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                              from public.restaurant_tables t
                                             where t.id = any(array(select i::uuid from pg_catalog.jsonb_array_elements_text(m.move -> 'from_table_ids') i))),
                                   'to', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                            from public.restaurant_tables t
                                           where t.id = any(array(select i::uuid from pg_catalog.jsonb_array_elements_text(m.move -> 'to_table_ids') i))))
                                 order by m.reference)
                            -- Each moved booking's reference looked up by its id (a subquery of its own, so
                            -- never a join the planner may answer by reading every booking).
                            from (select e.value as move,
                                         (select x.reference from public.bookings x
                                           where x.id = (e.value ->> 'booking_id')::uuid) as reference
                                    from pg_catalog.jsonb_array_elements(o -> 'moves') e) m))
                from pg_catalog.jsonb_array_elements(stored) o
               where (o ->> 'start_at')::timestamptz > pg_catalog.now()
                 and not exists (select 1 from pg_catalog.jsonb_array_elements(free) f
                                  where (f ->> 'start_at')::timestamptz = (o ->> 'start_at')::timestamptz)
            ) x
            order by abs((x.alternative ->> 'offset_minutes')::integer), (x.alternative ->> 'start_at')::timestamptz
            limit p_limit) a);
end $$;

do $$
begin
  execute pg_catalog.format('comment on function ops.health(timestamptz) is %L',
    pg_catalog.replace(pg_catalog.obj_description('ops.health(timestamptz)'::regprocedure, 'pg_proc'),
      'dead: every dead message',
      'dead: the dead messages an operator can act on (an outage''s or a refusal''s; one that died for want of an address is listed by ops.dead_messages only)')
    || ' manual_review: the bookings in review whose visit is not over.');
end $$;

drop function ops.manual_review_queue(uuid);
create function ops.manual_review_queue(p_restaurant_id uuid default null, p_include_ended boolean default false)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text, guest_was_told text)
language plpgsql stable security definer set search_path = '' as $$
#variable_conflict use_column
declare
  -- The visit not over: stays last 12 hours at most, so a start bound reads bookings_in_review_idx from 12
  -- hours back. A variable, so the plan is made knowing it (in PL/pgSQL, not as a SQL function's generic plan,
  -- which could not tell how much of the index the bound leaves).
  since timestamptz := case when p_include_ended then '-infinity'::timestamptz
                            else pg_catalog.now() - interval '12 hours' end;
begin
  return query
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Tables an operator can take with ops.assign_tables now: none while the stay is outside service hours
         -- (assign_tables would refuse them); else free single tables that seat the party, least waste first,
         -- then free combinations the rules allow (private.table_groups) in which every table is needed —
         -- without any one of them too few seats, or the rest no longer joined; of these the first hundred
         -- found (fewer tables first) are ranked. Ten at most, least waste first.
         case when private.service_hours_problem(b) is not null then '[]'::jsonb else coalesce((
           select pg_catalog.jsonb_agg(o.option order by o.rank, o.option)
             from ((select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
                      from private.usable_tables(b.restaurant_id) t
                     where b.party_size between t.min_party_size and t.max_party_size
                       and private.busy_tables(b, array[t.id]) is null
                     order by 2 limit 10)
                   union all
                   (select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                              from public.restaurant_tables t where t.id = any(g.table_ids)),
                           100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
                      from private.table_groups(b.restaurant_id,
                             (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
                     where g.seats >= b.party_size
                       and private.every_table_needed(b.restaurant_id, g.table_ids, g.seats, b.party_size)
                       and private.busy_tables(b, g.table_ids) is null
                     limit 100)
                   order by 2 limit 10) o), '[]'::jsonb) end,
         x.alternatives,
         private.alternatives_note(x.alternatives),
         -- The last message the guest received (or may have): what they believe until someone tells them
         -- otherwise. Pending ones may never go out.
         coalesce((select pg_catalog.format('%s: %s, party of %s', o.kind, o.payload ->> 'starts_local',
                                            o.payload ->> 'party_size')
                     from public.notification_outbox o
                    where o.booking_id = b.id and private.may_have_reached_guest(o)
                    order by o.seq desc limit 1), 'nothing yet')
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id,
         lateral (select case when private.time_may_cure(b.manual_review_reason)
                              then private.seating_alternatives(b) end as alternatives) x
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
     and b.start_at > since and (p_include_ended or b.end_at > pg_catalog.now())
   order by b.start_at;
end $$;
comment on function ops.manual_review_queue(uuid, boolean) is
  'Bookings in review whose visit is not over (of one restaurant with p_restaurant_id; every review ever made, ended visits too, with p_include_ended => true), soonest first, with the reason and the free tables (or combinations of adjacent tables) that would seat them now. For a booking in review because nothing fits at its time (no_table_fits, exact_search_budget_exhausted, outside_service_hours): alternatives, up to three nearest start times within ±90 minutes on the 15-minute grid with the tables each would get — free now, or (with moves) free once the bookings listed are re-seated, found by the coordinator function once the restaurant has nothing waiting — (take one with ops.accept_alternative), and alternatives_note, the same in words or "no alternative within ±90 minutes". guest_was_told: the last message the guest received (e.g. "booking_confirmed: 2030-10-07 18:00, party of 2"), or "nothing yet": a guest holding a confirmation should hear from the restaurant.';
revoke all on function ops.manual_review_queue(uuid, boolean) from public, anon, authenticated;
grant execute on function ops.manual_review_queue(uuid, boolean) to service_role;
revoke all on all routines in schema private from public, anon, authenticated;
