-- Health says when the functions keep failing, when pg_net sends nothing, and when begins wait out a held lock.
--
-- An on-call review of what each failure shows found three that ops.health() answered "ok" for about ten
-- minutes, until their bookings had already gone to review with the cause in each reason:
--   * the coordinator (or the notification dispatcher) answering 5xx or nothing within pg_net's timeout, a crash
--     loop or a broken deploy: the responses were counted (dispatch.failed_last_15_min) but no problem read the
--     count, and the sweeper's backoff rewrote each waiting booking's due time, so neither "queue is falling
--     behind" (two minutes overdue) nor ops.stuck_bookings (ten minutes without a write) ever fired;
--   * pg_net not sending (a stalled worker, or a batch held by a request that hangs): its queue of the
--     pipeline's nudges grew (dispatch.queued_requests) and nothing said so while its worker was "up";
--   * begins giving up on a restaurant's lock after 5 s (an operator's transaction left open, a long bulk
--     update): coordinator.lock_contention events, read by no problem line, until restaurant_locked reviews.
-- Each is now a problem line saying what to look at; the open-breaker line, which named neither the
-- restaurants nor a next step, says how many, how many bookings they hold back, and what to do; and
-- manual_review_last_hour gains by_reason, the reason
-- codes of the hour's reviews, so the review-rate line (the seeds' rollback trigger, which counts a sold-out
-- night's no_table_fits as well) can be read for what drives it. The body of health is kept as it is (renamed
-- private.health_of_parts), and private.health_unchecked, which ops.health calls, adds the three counts under
-- dispatch (answers_failing, oldest_queued_seconds) and lock_waits_last_15_min, their problems, and
-- "degraded" where the parts said "ok" (a failing function is not "down": the bookings are nudged again).
-- A failing function is judged by its newest answers (the last three, within 15 minutes, all failed), not by
-- any failure in the window: one instance killed mid-request leaves a timeout without anything being wrong
-- now; each function by its own answers, so the dispatcher's few are not lost among the coordinator's, nor
-- the pipeline's among other pg_net callers'. Lock waits count only the restaurant's lock, three or more in
-- 15 minutes: a begin finding its booking's lock taken (a duplicate dispatch) is routine.

alter function private.health_unchecked(timestamptz) rename to health_of_parts;

create function private.health_unchecked(p_now timestamptz default now())
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
  -- the review rate is raised.
  select coalesce(pg_catalog.jsonb_object_agg(r.code, r.n), '{}'::jsonb) into reviews_by_reason
    from (select pg_catalog.split_part(b.manual_review_reason, ':', 1) as code, count(*) as n
            from public.bookings b
           where b.created_at > p_now - interval '1 hour' and b.assignment_state = 'manual_review'
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
comment on function private.health_unchecked(timestamptz) is
  'ops.health''s body: private.health_of_parts, with the functions'' failing answers, pg_net''s oldest queued nudge and the restaurant-lock waits of the last 15 minutes, and their problems.';
do $$
begin
  execute pg_catalog.format('comment on function ops.health(timestamptz) is %L',
    pg_catalog.obj_description('ops.health(timestamptz)'::regprocedure, 'pg_proc')
    || ' dispatch.answers_failing: per pipeline function, how many of its newest answers within 15 minutes failed in a row (5xx, none in time, no connection; up to five), a problem from three; dispatch.oldest_queued_seconds: the age of the oldest pipeline nudge pg_net still holds, a problem past a minute; lock_waits_last_15_min: begins that gave up on their restaurant''s lock after 5 s, and at how many restaurants, a problem from three; manual_review_last_hour.by_reason: the reason codes of the hour''s bookings in review.');
end $$;

revoke all on function private.health_unchecked(timestamptz), private.health_of_parts(timestamptz)
  from public, anon, authenticated, service_role;
