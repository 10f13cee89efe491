-- The operators' reads whose cost depends on the window or bound of the call are planned for its values at
-- every call (20261231430000, 20261231440000), not after five calls in a session by a generic plan that cannot
-- tell a day from a week: a week of a busy platform's rollout metrics never finished on such a plan
-- (supabase/tests/integration/pipeline_metrics.test.ts compares the metrics' figures; scripts/bench-ops-reads
-- times them).
begin;
select plan(2);

select ok((select proconfig @> array['plan_cache_mode=force_custom_plan'] from pg_proc
            where oid = 'private.pipeline_metrics_unchecked(timestamptz, timestamptz, uuid, text)'::regprocedure),
  'the rollout metrics are planned for each call''s window');
select ok((select proconfig @> array['plan_cache_mode=force_custom_plan'] from pg_proc
            where oid = 'ops.manual_review_queue(uuid, boolean, integer, integer)'::regprocedure),
  'the review queue is planned for each call''s bound');

select * from finish();
rollback;
