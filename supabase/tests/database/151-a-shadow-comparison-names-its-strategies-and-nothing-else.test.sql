-- A shadow comparison names its strategies and nothing else: one whose strategy is not an engine's name (an
-- e-mail address, a phone number) is not stored, and the booking's own commit or failure goes on
-- (20261231310000).
begin;
select plan(9);

create function pg_temp.comparison(p_primary text, p_candidate text, p_decision text) returns jsonb
language sql as $$
  select jsonb_build_object('experiment', 'v3', 'primary_strategy', p_primary, 'candidate_strategy', p_candidate,
                            'primary_decision', p_decision, 'candidate_decision', p_decision,
                            'primary_ms', 1, 'candidate_ms', 1)
$$;

select tests.create_restaurant('Shadow names') as rid \gset
select tests.add_table(:'rid', 'S1', 4) as s1 \gset
select ops.set_restaurant_mode(:'rid', 'shadow', 'ana', 'shadow phase') ->> 'mode' as mode \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as seated \gset
select tests.create_booking(:'rid', 3, '2030-06-03 19:00+00') as refused \gset
select tests.create_booking(:'rid', 2, '2030-06-03 21:00+00') as plain \gset

-- As the Data API runs a caller's call.
set local role service_role;
select tests.lease_token(public.assignment_begin(:'seated')) as lease \gset
select is(public.assignment_commit(:'seated', :'lease', array[:'s1']::uuid[], 'first_fit',
            p_shadow => pg_temp.comparison('jane.doe@example.com', 'scarcity_fit', 'assign')) ->> 'outcome',
          'confirmed', 'a commit whose comparison names an e-mail address for a strategy is confirmed');
select tests.lease_token(public.assignment_begin(:'refused')) as lease \gset
select is(public.assignment_fail(:'refused', :'lease', 'no_fit', 'no_table_fits: the one table is taken',
            p_shadow => pg_temp.comparison('first_fit', 'call +44 20 7946 0958', 'escalate')) ->> 'outcome',
          'retry', 'a failure whose comparison names a phone number goes on as on the legacy path: retried');
select tests.lease_token(public.assignment_begin(:'plain')) as lease \gset
select is(public.assignment_commit(:'plain', :'lease', array[:'s1']::uuid[], 'first_fit',
            p_shadow => pg_temp.comparison('first_fit', 'scarcity_fit', 'assign')) ->> 'outcome',
          'confirmed', 'a comparison that names two strategies goes with its commit');
reset role;

select is((select count(*)::int from public.shadow_comparisons where booking_id in (:'seated', :'refused')), 0,
          'neither comparison naming something else is stored');
select is((select string_agg(primary_strategy || ' ' || candidate_strategy, ', ') from public.shadow_comparisons
            where booking_id = :'plain'), 'first_fit scarcity_fit', 'the one naming two strategies is');
select is((select string_agg(context ->> 'sqlstate', ', ' order by booking_id) from public.observability_events
            where booking_id in (:'seated', :'refused') and event_type like '%shadow_dropped'),
          '23514, 23514', 'each drop is recorded, with its SQLSTATE');
select is((select count(*)::int from public.observability_events e
            where e.restaurant_id = :'rid' and (e.context::text like '%example.com%' or e.context::text like '%7946%'))
          + (select count(*)::int from public.shadow_comparisons c
              where c.restaurant_id = :'rid' and (c::text like '%example.com%' or c::text like '%7946%')),
          0, 'nothing stored keeps what was named, neither a comparison nor an event');

-- The columns hold to it whoever writes them.
select throws_ok(
  format($$insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy,
             candidate_strategy, primary_decision, candidate_decision, primary_ms, candidate_ms)
           values (%L, %L, 'v3', 'Jane Doe', 'scarcity_fit', 'assign', 'assign', 1, 1)$$, :'plain', :'rid'),
  '23514', null, 'a primary strategy that is not an engine''s name is refused');
select throws_ok(
  format($$insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy,
             candidate_strategy, primary_decision, candidate_decision, primary_ms, candidate_ms)
           values (%L, %L, 'v3', 'first_fit', repeat('x', 41), 'assign', 'assign', 1, 1)$$, :'plain', :'rid'),
  '23514', null, 'and so is a candidate strategy longer than a name');

select * from finish();
rollback;
