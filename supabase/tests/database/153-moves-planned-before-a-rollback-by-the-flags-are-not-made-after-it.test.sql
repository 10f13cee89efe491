-- Moves planned before a rollback by the deployment's flags are not made after it (20261231330000): an
-- instance of the old deployment finishing an attempt it leased on V3 commits after a lease of the new one
-- (FEATURE_ASSIGNMENT_PIPELINE_V3=false) left its ceiling; called as the coordinator calls it (service_role).
begin;
select plan(6);

-- No deployment's flags heard yet: V3 allowed.
update private.function_flags set mode_ceiling = null;

-- A 2-top and a 4-top; a couple seated on the 4-top, and four guests at the same time whom only moving the
-- couple to the 2-top can seat.
select tests.create_restaurant('Flags and moves') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select ops.set_reoptimization(true, 'ana', :'rid') is not null as reoptimizing \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as other \gset
select jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid, 'from_table_ids', jsonb_build_array(:'t2'::uuid),
                                            'to_table_ids', jsonb_build_array(:'t1'::uuid))) as moves \gset

set local role service_role;
-- The old deployment's instance leases the four on V3 and plans the re-seating.
select public.assignment_lease(:'four', 'dispatch') as leased \gset
select is(:'leased'::jsonb ->> 'mode', 'v3', 'the attempt begins on V3');
-- Meanwhile the new deployment, rolled back by its flags, leases another booking.
select is(public.assignment_lease(:'other', 'dispatch', p_mode_ceiling => 'legacy') ->> 'mode', 'legacy',
          'the new deployment''s lease runs legacy');
select public.assignment_commit(:'four', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'t2'::uuid], 'scarcity_fit',
                                10, '{}'::jsonb, null, :'moves'::jsonb) as committed \gset
reset role;
select is(:'committed'::jsonb ->> 'outcome', 'conflict', 'the old instance''s commit moving the couple is a conflict');
select is(array[tests.tables_held(:'couple'), (select assignment_state from public.bookings where id = :'four')],
  array['T2', 'assignment_in_progress'], 'nobody moved, and the attempt still holds its lease to end it');

-- The flags come back (a lease without a ceiling): the re-seating is made.
select tests.force_state(:'other', 'cancelled');
select tests.create_booking(:'rid', 2, '2030-06-05 19:00+00') as later \gset
set local role service_role;
select public.assignment_lease(:'later', 'dispatch') ->> 'mode' as later_mode \gset
select is(public.assignment_commit(:'four', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'t2'::uuid], 'scarcity_fit',
                                   10, '{}'::jsonb, null, :'moves'::jsonb) ->> 'outcome', 'confirmed',
  'once the deployment allows V3 again, the re-seating is made');
reset role;
select is(array[tests.tables_held(:'couple'), tests.tables_held(:'four')], array['T1', 'T2'], 'the couple moved to the 2-top');

select * from finish();
rollback;
