-- A commit whose tables another booking took since the snapshot answers the conflict before it moves anyone
-- (20261210030000).
begin;
select plan(10);

-- A couple holds the 4-top from 19:00; a four asks for 19:30 and the plan moves the couple to the 2-top.
select tests.create_restaurant('Lost Race') as rid \gset
select tests.add_table(:'rid', 'T2', 2) as t2 \gset
select tests.add_table(:'rid', 'T4', 4) as t4 \gset
select ops.set_reoptimization(true, 'ana', :'rid', 'pooling');
select tests.create_booking(:'rid', 2, '2030-05-06 19:00+00') as couple \gset
select (public.assignment_begin(:'couple')) ->> 'lease_token' as lease \gset
select is(public.assignment_commit(:'couple', :'lease', array[:'t4']::uuid[], 'first_fit') ->> 'outcome', 'confirmed',
  'the couple holds the 4-top');
select tests.create_booking(:'rid', 4, '2030-05-06 19:30+00') as four \gset
select public.assignment_begin(:'four') as began \gset

-- Meanwhile an operator seats a late couple on the 4-top at 20:45: after the first couple, inside the four's stay.
select is(ops.assign_tables(tests.create_booking(:'rid', 2, '2030-05-06 20:45+00'), array['T4'], 'ana') ->> 'outcome',
  'confirmed', 'a late couple takes the 4-top after the first');

select public.assignment_commit(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t4']::uuid[], 'optimal_fit', 1,
         '{}', null, jsonb_build_array(jsonb_build_object('booking_id', :'couple', 'from_table_ids', array[:'t4'],
                                                           'to_table_ids', array[:'t2'])))
  as committed \gset
select is((:'committed'::jsonb) ->> 'outcome', 'conflict', 'the four lost the 4-top: a conflict');
select is((:'committed'::jsonb) -> 'busy_tables', '["T4"]'::jsonb, 'naming the table');
select is((select array_agg(t.table_number) from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
            where a.booking_id = :'couple' and a.released_at is null), array['T4'], 'and the couple was not moved');
select is((select count(*)::int from public.observability_events where booking_id = :'couple' and event_type = 'coordinator.booking_moved'),
  0, 'nor recorded as moved');

-- A move whose new table was taken since the snapshot is a re-plan with a fresh snapshot, not a failed insert.
select tests.create_booking(:'rid', 2, '2030-05-07 19:00+00') as couple2 \gset
select (public.assignment_begin(:'couple2')) ->> 'lease_token' as lease2 \gset
select is(public.assignment_commit(:'couple2', :'lease2', array[:'t4']::uuid[], 'first_fit') ->> 'outcome', 'confirmed',
  'another couple holds the 4-top');
select tests.create_booking(:'rid', 4, '2030-05-07 19:30+00') as four2 \gset
select public.assignment_begin(:'four2') as began2 \gset
select ops.assign_tables(tests.create_booking(:'rid', 2, '2030-05-07 19:00+00'), array['T2'], 'ana') ->> 'outcome' as t2_taken \gset
select public.assignment_commit(:'four2', ((:'began2'::jsonb) ->> 'lease_token')::uuid, array[:'t4']::uuid[], 'optimal_fit', 1,
         '{}', null, jsonb_build_array(jsonb_build_object('booking_id', :'couple2', 'from_table_ids', array[:'t4'],
                                                           'to_table_ids', array[:'t2'])))
  as committed2 \gset
select is(array[(:'committed2'::jsonb) ->> 'outcome', (:'committed2'::jsonb) ->> 'reason'],
  array['conflict', 'a table a booking would move to was taken since the snapshot'],
  'the 2-top the couple would move to was taken meanwhile: a conflict that says so');
select ok((:'committed2'::jsonb) ? 'snapshot', 'with a fresh snapshot to plan again on');

-- A stay the service hours stop covering during the attempt is a re-plan, never an engine error: the engine
-- cannot see service hours.
select tests.create_booking(:'rid', 2, '2030-05-08 21:00+00') as late \gset
select public.assignment_begin(:'late') ->> 'lease_token' as late_lease \gset
update public.service_periods set ends_at = '22:00' where restaurant_id = :'rid';
select public.assignment_commit(:'late', :'late_lease', array[:'t2']::uuid[], 'optimal_fit') ->> 'outcome' as first_try \gset
select is(public.assignment_commit(:'late', :'late_lease', array[:'t2']::uuid[], 'optimal_fit') ->> 'outcome', 'conflict',
  'the same tables again, once the change is known: still a re-plan, not AS007');

select * from finish();
rollback;
