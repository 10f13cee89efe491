-- A booking's attempts are kept across its runs (20261228160000): a run that errored and went to review, then
-- was retried by an operator and confirmed, keeps its error among the booking's attempts, and so among the
-- error rate the rollout gates read. Called as the coordinator and an operator's tool call (service_role).
begin;
select plan(3);

select tests.run_v3();
select tests.create_restaurant('Runs') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
select tests.create_booking(:'rid', 2, '2030-06-06 19:00+00') as bid \gset

create function pg_temp.lease(p_booking uuid) returns uuid language sql as $$
  select (public.assignment_lease(p_booking, 'dispatch') ->> 'lease_token')::uuid;
$$;
grant execute on function pg_temp.lease(uuid) to service_role;

set local role service_role;
-- The first run: an error, then a hard stop to review.
select public.assignment_fail(:'bid', pg_temp.lease(:'bid'), 'error', 'error: the engine crashed', 3) ->> 'outcome' as first \gset
reset role;
-- Its backoff over.
update public.bookings set next_attempt_at = now() - interval '1 second' where id = :'bid';
set local role service_role;
select public.assignment_fail(:'bid', pg_temp.lease(:'bid'), 'no_fit', 'no_table_fits: nothing fits', 3) ->> 'outcome' as second \gset
-- The operator sends it back; the second run confirms it.
select ops.retry_booking(:'bid', 'ana') is not null as retried \gset
select public.assignment_commit(:'bid', pg_temp.lease(:'bid'), array[:'r1'::uuid], 'scarcity_fit', 5, '{}'::jsonb) ->> 'outcome'
  as third \gset
reset role;

select is(array[:'first', :'second', :'third'], array['retry', 'manual_review', 'confirmed'], 'error, review, confirmed');
select is((select array_agg(array[attempt_no::text, result] order by attempt_no) from public.booking_assignment_attempts
            where booking_id = :'bid'),
  array[['1', 'error'], ['2', 'manual_review'], ['3', 'success']], 'every attempt of both runs is kept, in order');
select is((select attempt_count from public.bookings where id = :'bid'), 1, 'the second run counted its own attempt from one');

select * from finish();
rollback;
