-- ops.health watches the nightly prune (20261231380000): its job scheduled and active, and a run finished within
-- 30 hours (private.retention_runs, which the prune updates when it finishes; integration/retention.test.ts runs
-- it). Read as the Data API's service_role reads health.
begin;
select plan(11);

create function pg_temp.problem(p_now timestamptz default now()) returns text
language sql as $$
  select p from jsonb_array_elements_text(ops.health(p_now) -> 'problems') p where p like '%nightly prune%'
$$;
grant execute on function pg_temp.problem(timestamptz) to service_role;
update private.retention_runs set finished_at = now() - interval '20 hours';

set local role service_role;
select is(ops.health() -> 'retention',
  jsonb_build_object('scheduled', true, 'last_finished_at', now() - interval '20 hours'),
  'the part gives the job''s state and the prune''s last finish');
select is(pg_temp.problem(), null, 'a prune finished 20 hours ago is no problem');
select is(pg_temp.problem(now() + interval '9 hours 59 minutes'), null, 'nor at 29 hours 59 minutes');
select is(pg_temp.problem(now() + interval '10 hours 1 minute'),
  format('the nightly prune has not finished since %s (cron job assignment-retention; its runs in cron.job_run_details say why, a statement timeout on its role say): what it has not pruned is kept past its retention until a run finishes (call private.run_retention() runs it now)',
         now() - interval '20 hours'),
  'past 30 hours it is a problem, saying since when and where to look');
select is(ops.health(now() + interval '10 hours 1 minute') ->> 'status', 'degraded', 'and health is degraded');
reset role;

update private.retention_runs set finished_at = now();
select is(pg_temp.problem(now() + interval '10 hours 1 minute'), null, 'a prune that finished since clears it');
-- The record deleted by its owner (Studio): health does not read that as a prune that keeps up.
delete from private.retention_runs;
select ok(pg_temp.problem() like 'the nightly prune has not finished since it was last recorded (%',
  'with no record of a finish, the prune is a problem');
insert into private.retention_runs (finished_at) values (now());

update cron.job set active = false where jobname = 'assignment-retention';
set local role service_role;
select is(pg_temp.problem(),
  'the nightly prune is not scheduled (cron job assignment-retention missing or inactive): events, shadow comparisons and the settings audit are kept past their retention',
  'a prune switched off is a problem, however recently it finished');
select is(ops.health() -> 'retention' ->> 'scheduled', 'false', 'and the part says so');
reset role;
delete from cron.job where jobname = 'assignment-retention';
set local role service_role;
select ok(pg_temp.problem() like 'the nightly prune is not scheduled%', 'so is a prune unscheduled');
reset role;

-- The record is the pipeline's own: no API role reads or writes it.
select is((select count(*)::int from information_schema.role_table_grants
            where table_schema = 'private' and table_name = 'retention_runs'
              and grantee in ('anon', 'authenticated', 'service_role')), 0,
  'no API role has a privilege on the prune''s record');

select * from finish();
rollback;
