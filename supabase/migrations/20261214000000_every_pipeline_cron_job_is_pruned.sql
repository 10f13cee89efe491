-- The nightly prune removes the old runs of every cron job of this pipeline, not only the sweeper's and its
-- own.
--
-- Where pg_cron runs jobs every few seconds (1.5 and later, as on hosted Supabase), the floor-plan re-check
-- (20261210140000) and the re-seating nudge (20261211000000) have 5-second jobs of their own. Their runs were
-- left in cron.job_run_details, 17,280 a day each, which pg_cron never empties. Jobs of other names are still
-- never touched: the list names this pipeline's jobs one by one.

create or replace function private.pipeline_cron_jobs()
returns text[] language sql immutable as $$
  select array['assignment-sweeper', 'assignment-retention', 'assignment-floor-plan-recheck',
               'assignment-reseating-nudge']
$$;
comment on function private.pipeline_cron_jobs() is
  'The names of this pipeline''s pg_cron jobs, whose runs private.prune_old_rows() removes after a day.';

-- Body as in 20261210010000, with the jobs named by private.pipeline_cron_jobs().
create or replace function private.prune_old_rows(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.rollout_settings;
  events integer;
  comparisons integer;
  audit integer;
  job_runs integer := 0;
begin
  select * into s from private.rollout_settings;
  delete from public.observability_events where created_at < p_now - pg_catalog.make_interval(days => s.event_retention_days);
  get diagnostics events = row_count;
  delete from public.shadow_comparisons where created_at < p_now - pg_catalog.make_interval(days => s.shadow_retention_days);
  get diagnostics comparisons = row_count;
  delete from public.pipeline_settings_audit where changed_at < p_now - pg_catalog.make_interval(days => s.audit_retention_days);
  get diagnostics audit = row_count;
  begin
    delete from cron.job_run_details d using cron.job j
     where j.jobid = d.jobid and j.jobname = any(private.pipeline_cron_jobs())
       and d.start_time < p_now - interval '1 day';
    get diagnostics job_runs = row_count;
  exception when insufficient_privilege then
    -- A platform that keeps pg_cron's history to itself: its rows are its to prune.
    null;
  end;
  if events + comparisons + audit + job_runs > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                    'pipeline_settings_audit', audit, 'cron_job_runs', job_runs), null, null);
  end if;
  return pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                       'pipeline_settings_audit', audit, 'cron_job_runs', job_runs);
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
