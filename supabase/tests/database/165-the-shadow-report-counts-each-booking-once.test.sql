-- The shadow report counts each booking once (20261231450000): legacy retries a failure up to four times and
-- every attempt stores a comparison, so rates over rows weighed a booking legacy could not seat four times.
-- Rates are over bookings, by the last comparison each had in the window; errors and durations every attempt.
begin;
select plan(3);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'S1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as retried \gset
select tests.create_booking(:'rid', 2, '2030-01-07 21:00+00') as easy \gset
-- The retried booking: three attempts legacy could not seat while V3 did, the last one V3 threw; the easy one:
-- both seat it at once on the same table.
insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
                                       primary_decision, candidate_decision, primary_tables, candidate_tables,
                                       primary_ms, candidate_ms, created_at)
values (:'retried', :'rid', 'v3', 'first_fit', 'scarcity_fit', 'escalate', 'assign', '{}', array[:'t1']::uuid[], 1, 2,
        now() - interval '3 seconds'),
       (:'retried', :'rid', 'v3', 'first_fit', 'scarcity_fit', 'escalate', 'assign', '{}', array[:'t1']::uuid[], 1, 2,
        now() - interval '2 seconds'),
       (:'retried', :'rid', 'v3', 'first_fit', 'scarcity_fit', 'escalate', 'error', '{}', '{}', 1, 2,
        now() - interval '1 second'),
       (:'easy', :'rid', 'v3', 'first_fit', 'scarcity_fit', 'assign', 'assign', array[:'t1']::uuid[],
        array[:'t1']::uuid[], 1, 2, now());

select results_eq(
  format($$select comparisons, same_tables_pct, different_decision_pct, candidate_errors
             from ops.shadow_report(now() - interval '1 hour', now() + interval '1 second')
            where restaurant_id = %L$$, :'rid'),
  $$values (2::bigint, 50.00, 50.00, 1::bigint)$$,
  'two bookings compared, half of them alike; the error of an attempt counted');
select is((select (ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid'::uuid) -> 'shadow' -> 'v3')
                  - 'primary_avg_ms' - 'candidate_avg_ms'),
  '{"comparisons": 2, "attempts_compared": 4, "primary_assign_pct": 50.00, "candidate_assign_pct": 50.00,
    "primary_escalate_pct": 50.00, "candidate_escalate_pct": 0.00, "same_tables_pct": 50.00,
    "different_decision_pct": 50.00, "candidate_errors": 1}'::jsonb,
  'the rollout metrics count the same way, beside every attempt compared');
-- The window cuts attempts: one that holds only the retried booking's first two compares it by the second.
select results_eq(
  format($$select comparisons, different_decision_pct, candidate_errors
             from ops.shadow_report(now() - interval '1 hour', now() - interval '1500 milliseconds')
            where restaurant_id = %L$$, :'rid'),
  $$values (1::bigint, 100.00, 0::bigint)$$,
  'a window holding only its earlier attempts compares the booking by the last of those');

select * from finish();
rollback;
