-- The nightly prune commits as it goes.
--
-- A review of the routine queries at a platform's scale found the nightly job (assignment-retention) deleting
-- everything past its retention in one transaction: about 270 000 events a night at a million bookings a
-- month, which is fine, but after ops.set_retention lowers a retention (down to a day), or after nights the
-- job missed, up to the whole table at once (about 8 million events, with comparisons, the settings audit
-- and pg_cron's history in the same transaction): minutes that hold back vacuum on every table, a burst of
-- WAL a replica must replay at once, and, should it fail, all of it undone. The job now calls
-- private.run_retention, a procedure that prunes 10 000 rows of each table at a time, oldest first, and
-- commits after each round, until a round finds fewer; it records one retention.pruned event with the totals
-- and the rounds. private.prune_old_rows takes p_limit (rows of each table in one call; null for all, as
-- before) and p_record (false: no event, the procedure records one). pg_cron runs a procedure that commits
-- when it is the job's only statement (a CALL in its own transaction).
-- private.prune_old_rows: body as in 20261214000000, with the limit.

drop function private.prune_old_rows(timestamptz);
create function private.prune_old_rows(p_now timestamptz default now(), p_limit integer default null,
                                       p_record boolean default true)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.rollout_settings;
  events integer;
  comparisons integer;
  audit integer;
  job_runs integer := 0;
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
  if p_record and events + comparisons + audit + job_runs > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                    'pipeline_settings_audit', audit, 'cron_job_runs', job_runs), null, null);
  end if;
  return pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                       'pipeline_settings_audit', audit, 'cron_job_runs', job_runs);
end $$;
comment on function private.prune_old_rows(timestamptz, integer, boolean) is
  'Delete what is older than its retention: events, shadow comparisons, the settings audit (ops.set_retention) and this pipeline''s pg_cron runs older than a day; at most p_limit rows of each, oldest first (null: all). Records retention.pruned unless p_record is false; answers how many of each it deleted.';

-- A procedure that commits may not be security definer nor carry SET options: every name is qualified, and it
-- runs as pg_cron's job owner (postgres), as the sweeper's procedure does.
create procedure private.run_retention(p_batch integer default 10000)
language plpgsql as $$
declare
  -- One cut-off for every round: rows that age past it while the prune runs wait for the next night.
  cutoff timestamptz := pg_catalog.clock_timestamp();
  round jsonb;
  total jsonb := '{"observability_events": 0, "shadow_comparisons": 0, "pipeline_settings_audit": 0, "cron_job_runs": 0}'::jsonb;
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
comment on procedure private.run_retention(integer) is
  'The nightly prune (cron job assignment-retention): private.prune_old_rows p_batch rows of each table at a time, committing after each round until a round finds fewer, then one retention.pruned event with the totals and the rounds. CALL it alone, outside a transaction block.';

select cron.schedule('assignment-retention', '17 3 * * *', 'call private.run_retention()');

revoke all on all routines in schema private from public, anon, authenticated;
