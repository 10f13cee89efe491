begin;
select plan(4);

-- The lease and a claim commit without waiting for the disk only when they are their transaction's first
-- writes (supabase/tests/integration/async_commits.test.ts checks them as the pipeline calls them, each in a
-- transaction of its own). Called inside a transaction that has already written, as here, they leave the
-- setting alone: an operator's own writes in the same transaction keep waiting for the disk.
select tests.create_restaurant() as r \gset
select tests.add_table(:'r', 'T1', 4) \gset
select tests.create_booking(:'r', 2, '2030-03-07 19:00+00') as b \gset
select ok(pg_catalog.pg_current_xact_id_if_assigned() is not null, 'this transaction has written');

select public.assignment_begin(:'b') ->> 'outcome' as began \gset
select is(current_setting('synchronous_commit'), 'on', 'a begin inside it leaves the setting alone');
select public.assignment_claim_due(10);
select is(current_setting('synchronous_commit'), 'on', 'and so does a claim');

-- A later `create or replace` of a hot helper without its SET clause would silently re-plan it on every call
-- again (20261205010000_generic_plans_for_hot_helpers.sql).
select is((select array_agg(p.proname::text order by p.proname) from pg_catalog.pg_proc p
            where p.pronamespace = 'private'::regnamespace
              and 'plan_cache_mode=force_generic_plan' = any(p.proconfig)),
          array['busy_tables', 'busy_tables', 'decide_mode', 'plan_violation', 'table_rule_violation', 'walk_assignment_states'],
          'the hot helpers keep their generic plans');

select * from finish();
rollback;
