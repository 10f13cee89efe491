begin;
select plan(3);

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

select * from finish();
rollback;
