-- A breaker that holds nothing back is no alarm, a shadow comparison that cannot be stored costs the booking
-- nothing, and two operator calls tell the truth about what they were given (20261226010000).
begin;
select plan(15);

create function pg_temp.breaker_problems() returns text[] language sql as $$
  select array(select case when p like 'open circuit breakers%' then 'open circuit breakers' else p end
                 from jsonb_array_elements_text(ops.health() -> 'problems') p
                where p like 'open circuit breakers%'
                   or p = 'a circuit breaker has been open for more than 5 minutes (the rollout plan''s rollback trigger)'
                order by p);
$$;

-- Other tests' breakers are not this test's business.
delete from private.circuit_breakers;

-- A breaker open for ten minutes at a restaurant that got no booking since: nobody is held back.
select tests.create_restaurant('Quiet') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now() - interval '10 minutes');
select is(pg_temp.breaker_problems(), '{}'::text[], 'a breaker holding no booking back is no problem, nor a rollback trigger');
select is((select o ->> 'holding' from jsonb_array_elements(ops.health() -> 'open_breakers') o
            where o ->> 'restaurant_id' = :'rid'), '0', 'it is listed, holding nothing');

-- A booking arrives and waits behind it: now it is both.
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as waiting \gset
select is(pg_temp.breaker_problems(),
  array['a circuit breaker has been open for more than 5 minutes (the rollout plan''s rollback trigger)', 'open circuit breakers'],
  'one holding a booking back is a problem, and after 5 minutes the rollback trigger');
select is((select o ->> 'holding' from jsonb_array_elements(ops.health() -> 'open_breakers') o
            where o ->> 'restaurant_id' = :'rid'), '1', 'holding that booking');

-- The restaurant switched off: its breaker holds nothing back, whatever waits.
select ops.set_restaurant_mode(:'rid', 'off', 'ana', 'closed for the season') ->> 'mode' as mode \gset
select is(pg_temp.breaker_problems(), '{}'::text[], 'a switched-off restaurant''s breaker is no alarm');

-- The first setting given to a restaurant is one rollout-log row, not one per column null to null.
select tests.create_restaurant('Fresh') as fresh \gset
select ops.set_restaurant_mode(:'fresh', 'legacy', 'ana', 'pilot') ->> 'mode' as mode \gset
select is((select array_agg(a.setting || ': ' || coalesce(a.old_value::text, 'none') || ' -> ' || a.new_value::text)
             from public.pipeline_settings_audit a where a.scope = :'fresh'),
  array['mode: none -> "legacy"'], 'a restaurant''s first override records only the setting given');

-- A direct write sent in one message after an ops call (a Studio script) is not credited to that call.
select ops.set_max_parallel(4, 'ana', null, 'busy night') is not null as set \; update private.pipeline_settings set max_parallel = 6;
select is((select array_agg(a.actor || ' ' || coalesce(a.reason, '-') || ' ' || a.new_value::text order by a.id)
             from public.pipeline_settings_audit a where a.setting = 'max_parallel' and a.scope = 'global'
              and a.changed_at = now()),
  array['ana busy night 4', session_user || ' - 6'],
  'the ops call''s change is the operator''s, the direct write after it in the same message the login role''s');

-- A shadow booking whose comparison cannot be stored is still confirmed, and the drop is recorded.
select tests.create_restaurant('Shadow') as sid \gset
select tests.add_table(:'sid', 'S1', 4) as s1 \gset
select ops.set_restaurant_mode(:'sid', 'shadow', 'ana', 'shadow phase') ->> 'mode' as mode \gset
select tests.create_booking(:'sid', 2, '2030-06-03 19:00+00') as shadowed \gset
set local role service_role;
select public.assignment_begin(:'shadowed') as lease \gset
select is(public.assignment_commit(:'shadowed', tests.lease_token(:'lease'), array[:'s1']::uuid[], 'first_fit',
            p_shadow => jsonb_build_object('experiment', 'v3', 'primary_strategy', 'first_fit',
              'candidate_strategy', 'scarcity_fit', 'primary_decision', 'assign', 'candidate_decision', 'assign',
              'primary_tables', '["not-a-table"]'::jsonb, 'primary_ms', 1, 'candidate_ms', 1)) ->> 'outcome',
  'confirmed', 'a comparison that cannot be stored does not roll back the booking''s confirmation');
reset role;
select is((select count(*)::int from public.shadow_comparisons where booking_id = :'shadowed'), 0, 'the comparison is dropped');
select is((select source || ' ' || event_type || ' ' || (context ->> 'sqlstate') from public.observability_events
            where booking_id = :'shadowed' and event_type like '%shadow_dropped'),
  'auto_assign auto_assign.shadow_dropped 22P02', 'and the drop is recorded, under the path''s own names');
select is((select consecutive_failures from private.circuit_breakers where restaurant_id = :'sid'), null::integer,
  'nothing counts toward the restaurant''s breaker');

-- A well-formed comparison is still stored.
select tests.create_booking(:'sid', 2, '2030-06-04 19:00+00') as compared \gset
set local role service_role;
select public.assignment_begin(:'compared') as lease2 \gset
select public.assignment_commit(:'compared', tests.lease_token(:'lease2'), array[:'s1']::uuid[], 'first_fit',
  p_shadow => jsonb_build_object('experiment', 'v3', 'primary_strategy', 'first_fit',
    'candidate_strategy', 'scarcity_fit', 'primary_decision', 'assign', 'candidate_decision', 'assign',
    'primary_tables', jsonb_build_array(:'s1'::uuid), 'candidate_tables', jsonb_build_array(:'s1'::uuid),
    'score_diff', 0, 'primary_ms', 1, 'candidate_ms', 2));
reset role;
select is((select candidate_ms from public.shadow_comparisons where booking_id = :'compared'), 2::numeric,
  'a well-formed comparison is stored as before');

-- shadow_report refuses a window it cannot answer, instead of reading as "shadow is not running".
set local role service_role;
select is(array[tests.sqlstate_of($$select * from ops.shadow_report(null)$$),
                tests.sqlstate_of($$select * from ops.shadow_report(now(), now() - interval '1 day')$$),
                tests.sqlstate_of($$select * from ops.shadow_report('-infinity', 'infinity')$$)],
  array['AS005', 'AS005', 'AS005'], 'a null, reversed or infinite window is refused (AS005)');
select is((select comparisons from ops.shadow_report(now() - interval '1 hour', now() + interval '1 second')
            where restaurant_id = :'sid'), 1::bigint, 'a window it can answer is answered');
reset role;

-- A blank reason to cancel is none: the history says "cancelled by ops", never an empty why.
select tests.create_booking(:'sid', 2, '2030-06-05 19:00+00') as gone \gset
set local role service_role;
select ops.cancel_booking(:'gone', '   ', 'ana') ->> 'outcome' as outcome \gset
reset role;
select is((select h.reason from public.booking_assignment_state_history h where h.booking_id = :'gone' and h.to_state = 'cancelled'),
  'cancelled by ops', 'a blank reason to cancel is recorded as "cancelled by ops"');

select * from finish();
rollback;
