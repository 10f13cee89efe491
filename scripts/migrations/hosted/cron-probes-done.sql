-- Prints nothing until both probes of cron-probes.sql have run to their end; then "ok", or every failed run of
-- any job pg_cron ran (the migrations' own sweeper too), with pg_cron's message.
with runs as (
  select j.jobname, d.status, d.return_message
    from cron.job j join cron.job_run_details d on d.jobid = j.jobid
), failures as (
  select pg_catalog.string_agg(jobname || ': ' || coalesce(return_message, 'no message'), '; ') as what
    from runs where status = 'failed'
), probes_done as (
  select count(distinct jobname) = 2 as done
    from runs where jobname in ('probe-sweeper', 'probe-retention') and status in ('succeeded', 'failed')
)
select coalesce(f.what, 'ok') from failures f, probes_done p where f.what is not null or p.done;
