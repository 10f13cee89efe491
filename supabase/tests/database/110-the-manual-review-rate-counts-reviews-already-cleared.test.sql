-- The manual review rate counts the reviews an operator has already cleared (20261228170000): the plan's
-- "manual review rate < 1 %" gate read the bookings in review when it was read, so a booking an operator had
-- seated counted as one the pipeline seated. Called as the coordinator and an operator's tool call
-- (service_role).
begin;
select plan(6);

select tests.run_v3();
select tests.create_restaurant('Cleared') as rid \gset
select tests.add_table(:'rid', 'K1', 4) as k1 \gset
-- Four bookings: one seated by the pipeline, one sent to review and seated by an operator, one still in
-- review, one cancelled by its guest before anything was decided.
select tests.create_booking(:'rid', 2, '2030-06-08 12:00+00') as seated \gset
set local role service_role;
select public.assignment_lease(:'seated', 'dispatch') as leased \gset
select public.assignment_commit(:'seated', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'k1'::uuid], 'scarcity_fit',
                                5, '{}'::jsonb) ->> 'outcome' as seated_outcome \gset
reset role;
select tests.create_booking(:'rid', 2, '2030-06-08 15:00+00') as cleared \gset
select tests.force_state(:'cleared', 'manual_review', 'no_table_fits: test');
select tests.create_booking(:'rid', 2, '2030-06-08 18:00+00') as waiting \gset
select tests.force_state(:'waiting', 'manual_review', 'no_table_fits: test');
select tests.create_booking(:'rid', 2, '2030-06-08 21:00+00') as gone \gset
select public.cancel_booking(:'gone', 'guest called') is not null as cancelled \gset

set local role service_role;
select ops.assign_tables(:'cleared', array['K1'], 'ana') is not null as assigned \gset
create temp table m as select ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') as v;
reset role;
select is((select array[v ->> 'manual_review', v ->> 'sent_to_review'] from m), array['1', '2'],
  'one still in review, two sent there');
select is((select (v ->> 'manual_review_rate_pct')::numeric from m), 66.67,
  'two of the three not cancelled before anything was decided went to review, the cleared one too');

-- A booking sent to review and then cancelled still went there.
set local role service_role;
select ops.cancel_booking(:'waiting', 'guest found another table', 'ana') is not null as cancelled_waiting \gset
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') ->> 'manual_review_rate_pct')::numeric,
  66.67, 'and counts when its guest cancels it in review');
reset role;
select is((select count(*)::int from public.booking_assignment_state_history
            where booking_id = :'gone' and to_state = 'manual_review'), 0, 'the one cancelled first never went there');

-- A booking the pipeline seated and its guest then cancelled was decided: it counts among those the rate is of.
set local role service_role;
select ops.cancel_booking(:'seated', 'guest cancelled', 'ana') is not null as cancelled_seated \gset
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') ->> 'manual_review_rate_pct')::numeric,
  66.67, 'a seated booking cancelled since still counts as one decided without review');
reset role;

-- An operator moving a confirmed booking to other tables steps through review on the way: not a review.
select tests.add_table(:'rid', 'K2', 4) as k2 \gset
set local role service_role;
select ops.assign_tables(:'cleared', array['K2'], 'ana', 'the window table') is not null as moved \gset
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') ->> 'sent_to_review')::int, 2,
  'an operator''s move of a confirmed booking is no booking sent to review');
reset role;

select * from finish();
rollback;
