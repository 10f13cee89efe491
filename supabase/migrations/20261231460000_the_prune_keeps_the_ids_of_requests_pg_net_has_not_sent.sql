-- The nightly prune keeps the ids of the pipeline's requests pg_net has not sent yet.
--
-- ops.health measures a stalled pg_net worker by the oldest of the pipeline's nudges still in
-- net.http_request_queue, matched to private.pipeline_requests. The prune forgot every id a day old, sent or not,
-- so after a stall of more than a day health measured only the last day's nudges: "none sent in the last 86,400
-- s" for a worker down for days, understating what an operator acts on. Found by an attacker's review of the
-- prune. Now an id stays while its request is still queued; once pg_net takes it (and keeps its response 6
-- hours), it goes a day after it was sent, as before.
-- Body as in 20261231350000 but for that.
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
  if events > 0 then
    perform private.mark_pruned('event_retention_days', p_now - pg_catalog.make_interval(days => s.event_retention_days));
  end if;
  delete from public.shadow_comparisons where id in (
    select c.id from public.shadow_comparisons c
     where c.created_at < p_now - pg_catalog.make_interval(days => s.shadow_retention_days)
     order by c.created_at limit p_limit);
  get diagnostics comparisons = row_count;
  if comparisons > 0 then
    perform private.mark_pruned('shadow_retention_days', p_now - pg_catalog.make_interval(days => s.shadow_retention_days));
  end if;
  delete from public.pipeline_settings_audit where id in (
    select a.id from public.pipeline_settings_audit a
     where a.changed_at < p_now - pg_catalog.make_interval(days => s.audit_retention_days)
     order by a.changed_at limit p_limit);
  get diagnostics audit = row_count;
  -- pg_net keeps a response 6 hours; a day covers it. A request pg_net has not sent yet stays: health measures a
  -- stalled worker by its oldest nudge still queued.
  delete from private.pipeline_requests where id in (
    select r.id from private.pipeline_requests r
     where r.sent_at < p_now - interval '1 day'
       and not exists (select 1 from net.http_request_queue q where q.id = r.id)
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
