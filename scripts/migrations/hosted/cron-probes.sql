-- Two probes pg_cron runs at the next minute in the cluster's mode, each one CALL as the migrations' jobs are,
-- whose procedure commits between rounds: the sweeper, cut to two sweeps a second apart, and the retention
-- as its job runs it. scripts/hosted-roles-test waits for them (scripts/migrations/hosted/cron-probes-done.sql).
select cron.schedule('probe-sweeper', '* * * * *', 'call private.run_sweeper(2, 1)');
select cron.schedule('probe-retention', '* * * * *', command) from cron.job where jobname = 'assignment-retention';
do $$
begin
  if (select count(*) from cron.job where jobname in ('probe-sweeper', 'probe-retention')) <> 2 then
    raise exception 'the cron probes were not scheduled';
  end if;
end $$;
