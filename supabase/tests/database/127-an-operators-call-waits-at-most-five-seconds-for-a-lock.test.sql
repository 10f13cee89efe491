-- An operator's call waits at most five seconds for a lock (20261231060000): every ops call that writes carries
-- lock_timeout = 5s, as the coordinator's calls do; the read-only ones wait as the session does. (The wait
-- itself, behind a lock another connection holds: integration test lock_waits.)
begin;
select plan(3);

select is((select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
            where p.pronamespace = 'ops'::regnamespace and p.provolatile = 'v' and p.proname <> 'health'
              and not ('lock_timeout=5s' = any(coalesce(p.proconfig, '{}')))),
  null, 'every ops call that writes waits at most 5 s for a lock');
select is((select count(*)::int from pg_proc p
            where p.pronamespace = 'ops'::regnamespace and 'lock_timeout=5s' = any(p.proconfig)), 19,
  'all 19 of them (a new writer is counted here and given the limit)');
select is((select array_agg(p.proname::text order by p.proname) from pg_proc p
            where p.pronamespace = 'ops'::regnamespace
              and exists (select 1 from unnest(p.proconfig) c where c like 'lock_timeout=%')
              and (p.provolatile <> 'v' or p.proname = 'health')),
  null, 'the reads (health, the queues, the reports) wait as the session does');

select * from finish();
rollback;
