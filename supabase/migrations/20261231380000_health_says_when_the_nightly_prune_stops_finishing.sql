-- Health says when the nightly prune stops finishing.
--
-- The nightly prune (cron job assignment-retention, private.run_retention) deletes what is older than its
-- retention in rounds of 10 000 rows. A review of the database at a platform's scale found nothing watching
-- it: a run that failed every night (a statement timeout a platform sets on the job's role, which a first prune
-- after a retention was lowered runs into; a lock it waits out; the job switched off by hand) showed only in
-- pg_cron's own history, while every table it prunes grew past its retention. The prune now records when it
-- finished (private.retention_runs), and ops.health calls it a problem when the job is missing or inactive, or
-- when no run has finished for 30 hours; its `retention` part gives both. The finish is recorded rather than
-- read from cron.job_run_details: that table has no index by job, and health reads only what is open (pgTAP
-- 85), while the history holds a day of every job's runs. The record starts at this migration, so a prune that
-- never finishes on a new install is called a problem 30 hours on.
--
-- private.health_unchecked: as in 20261231240000, with the prune's part. private.run_retention: as in
-- 20261228010000, recording its finish.

create table private.retention_runs (
  only_row boolean primary key default true constraint one_row check (only_row),
  finished_at timestamptz not null
);
comment on table private.retention_runs is
  'When the nightly prune (private.run_retention) last finished; ops.health calls a prune not finished for 30 hours a problem.';
alter table private.retention_runs enable row level security;
revoke all on private.retention_runs from public, anon, authenticated, service_role;
insert into private.retention_runs (finished_at) values (now());

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
  -- Finished: health reads this to tell a prune that stopped running or failing from one that keeps up.
  insert into private.retention_runs (finished_at) values (pg_catalog.clock_timestamp())
  on conflict (only_row) do update set finished_at = excluded.finished_at;
  if (select sum(t.value::integer) from pg_catalog.jsonb_each_text(total) t) > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      total || pg_catalog.jsonb_build_object('rounds', rounds), null, null);
  end if;
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
  prune_scheduled boolean;
  prune_finished timestamptz;
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

  -- The nightly prune (cron job assignment-retention): scheduled, and finished within 30 hours (a day and its
  -- run's slack). Its finish is recorded by the prune, not read from pg_cron's history, which holds every job's
  -- runs of the last day without an index by job.
  select coalesce(bool_or(j.active), false) into prune_scheduled from cron.job j where j.jobname = 'assignment-retention';
  select r.finished_at into prune_finished from private.retention_runs r;
  if not prune_scheduled then
    added := added || 'the nightly prune is not scheduled (cron job assignment-retention missing or inactive): events, shadow comparisons and the settings audit are kept past their retention'::text;
  elsif prune_finished is null or prune_finished < p_now - interval '30 hours' then
    -- (No record at all: someone deleted it; the next prune to finish writes it again.)
    added := added || pg_catalog.format(
      'the nightly prune has not finished since %s (cron job assignment-retention; its runs in cron.job_run_details say why, a statement timeout on its role say): what it has not pruned is kept past its retention until a run finishes (call private.run_retention() runs it now)',
      coalesce(prune_finished::text, 'it was last recorded'));
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
         'retention', pg_catalog.jsonb_build_object('scheduled', prune_scheduled, 'last_finished_at', prune_finished),
         'manual_review_last_hour', (parts -> 'manual_review_last_hour')
                                    || pg_catalog.jsonb_build_object('by_reason', reviews_by_reason),
         'problems', pg_catalog.to_jsonb(problems || added),
         'status', case when parts ->> 'status' = 'ok' and pg_catalog.cardinality(added) > 0 then 'degraded'
                        else parts ->> 'status' end);
end $$;


revoke all on all routines in schema private from public, anon, authenticated;
