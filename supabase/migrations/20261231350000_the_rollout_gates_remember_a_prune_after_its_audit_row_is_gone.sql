-- The rollout gates remember that events were pruned after the audit row that told them is pruned itself.
--
-- private.kept_since (20261231080000) says from when events (or shadow comparisons) are surely kept, which
-- scripts/verify-rollout reads to call a window reaching further back inconclusive: the retention as it is now,
-- and as it was before each change the settings audit recorded. The audit is pruned too, after
-- audit_retention_days (as little as 90), while events may be kept up to 3650 days. A retention lowered for a
-- night (set_event_retention(1): the prune deleted all but a day of events) and raised the next day (400) was
-- forgotten 90 days later, when its audit row went: from then on the gates read a window reaching back past that
-- night as whole, and failed the transition and event-volume gates outright instead of calling them
-- inconclusive, or passed the error and breaker gates on events that were deleted (an attacker's review of
-- retention and pruning).
--
-- The nightly prune now records how far back it has deleted (private.retention_marks: the latest cut-off of a
-- prune that deleted rows, per retention setting), and kept_since reads that mark beside what it read before. A
-- mark only moves forward, and records what was deleted, not what a retention would delete: a retention lowered
-- and raised again before a prune ran pruned nothing. The mark starts at what the audit says today, so a
-- change made before this migration is not forgotten either.
--
-- private.prune_old_rows: as in 20261228010000, with the marks. private.kept_since: as in 20261231080000, with
-- the mark.

create table private.retention_marks (
  setting text primary key
    constraint a_mark_is_of_a_pruned_rows_retention check (setting in ('event_retention_days', 'shadow_retention_days')),
  pruned_before timestamptz not null
);
comment on table private.retention_marks is
  'How far back the nightly prune has deleted, per retention setting: rows older than pruned_before may be gone. Read by private.kept_since; only ever moves forward.';
alter table private.retention_marks enable row level security;
revoke all on private.retention_marks from public, anon, authenticated, service_role;

-- Rows of p_setting's table older than p_before may have been deleted.
create function private.mark_pruned(p_setting text, p_before timestamptz)
returns void language sql set search_path = '' as $$
  insert into private.retention_marks (setting, pruned_before) values (p_setting, p_before)
  on conflict (setting) do update set pruned_before = greatest(private.retention_marks.pruned_before, excluded.pruned_before);
$$;

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
  -- pg_net keeps a response 6 hours; a day covers it.
  delete from private.pipeline_requests where id in (
    select r.id from private.pipeline_requests r where r.sent_at < p_now - interval '1 day'
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

create or replace function private.kept_since(p_setting text)
returns timestamptz language sql stable set search_path = '' as $$
  select greatest(
    pg_catalog.now() - pg_catalog.make_interval(days => (pg_catalog.to_jsonb(r) ->> p_setting)::integer),
    (select max(a.changed_at - pg_catalog.make_interval(days => (a.old_value #>> '{}')::integer))
       from public.pipeline_settings_audit a
      where a.scope = 'global' and a.setting = p_setting and pg_catalog.jsonb_typeof(a.old_value) = 'number'),
    (select m.pruned_before from private.retention_marks m where m.setting = p_setting))
    from private.rollout_settings r;
$$;

-- What the audit says today, kept once its rows are pruned.
select private.mark_pruned(s.setting, m.before)
  from pg_catalog.unnest(array['event_retention_days', 'shadow_retention_days']) s(setting),
       lateral (select max(a.changed_at - pg_catalog.make_interval(days => (a.old_value #>> '{}')::integer)) as before
                  from public.pipeline_settings_audit a
                 where a.scope = 'global' and a.setting = s.setting and pg_catalog.jsonb_typeof(a.old_value) = 'number') m
 where m.before is not null;

revoke all on all routines in schema private from public, anon, authenticated;
