-- A platform's change that races a re-optimising commit is a lost race, not an engine error (20261231070000):
-- a booking the plan moves, changed and seated again on the same tables since the snapshot, is "a booking to
-- move changed since the snapshot"; a move that lands on the new booking's tables because its own stay grew
-- meanwhile is a rule_changed re-plan; with nothing changed, such a move is still the engine's fault (AS007).
-- Called as the coordinator and a platform call them (service_role).
begin;
select plan(12);

select tests.run_v3();
select tests.create_restaurant('Races') as rid \gset
select ops.set_reoptimization(true, 'ana', :'rid');
-- Each part's attempt stays in progress to the end: room for all of them.
select ops.set_max_parallel(10, 'ana', :'rid');
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T5', 4) as t5 \gset
select tests.add_table(:'rid', 'T6', 4) as t6 \gset

-- What the coordinator sends: each move with the booking as its snapshot showed it.
create function pg_temp.move_as_seen(p_booking uuid, p_from uuid, p_to uuid) returns jsonb language sql as $$
  select jsonb_build_array(jsonb_build_object(
    'booking_id', p_booking, 'from_table_ids', jsonb_build_array(p_from), 'to_table_ids', jsonb_build_array(p_to),
    'window_start', lower(tests.hold_of(p_booking)), 'window_end', upper(tests.hold_of(p_booking)),
    'party_size', (select party_size from public.bookings where id = p_booking)));
$$;
grant execute on function pg_temp.move_as_seen(uuid, uuid, uuid) to service_role;

-- 1. A couple on the 4-top; four guests at the same time, whom only moving the couple to the 2-top seats. The
-- plan is made; then the platform makes the couple three, and the pipeline seats them again on the 4-top.
select tests.confirmed_on(:'rid', 2, '2030-06-04 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-04 19:00+00') as four \gset
set local role service_role;
select tests.lease_token(public.assignment_lease(:'four', 'dispatch')) as four_lease \gset
select pg_temp.move_as_seen(:'couple', :'t2', :'t1') as moves \gset
update public.bookings set party_size = 3 where id = :'couple';
select tests.lease_token(public.assignment_lease(:'couple', 'dispatch')) as couple_lease \gset
select public.assignment_commit(:'couple', :'couple_lease', array[:'t2'::uuid], 'scarcity_fit') ->> 'outcome' as seated \gset
select is(:'seated'::text, 'confirmed', 'the three are seated again on the 4-top they held');
select public.assignment_commit(:'four', :'four_lease', array[:'t2'::uuid], 'scarcity_fit', 10, '{}'::jsonb, null,
                                :'moves'::jsonb) as committed \gset
select is((:'committed'::jsonb ->> 'outcome', :'committed'::jsonb ->> 'reason'),
  ('conflict'::text, 'a booking to move changed since the snapshot'::text),
  'the commit that would move them to the 2-top is a lost race, not a plan that breaks a rule (AS007)');
select is(array[tests.tables_held(:'couple'), (select assignment_state from public.bookings where id = :'four')],
  array['T2', 'assignment_in_progress'], 'nobody moved; the attempt keeps its lease to plan again');
select is((select count(*)::int from public.observability_events
            where booking_id = :'four' and event_type = 'coordinator.commit_conflict' and context ->> 'cause' = 'moves_stale'),
  1, 'recorded as a stale move, as a lost race is');

-- The same couple moved to another time instead, with the same tables and party: also changed since.
reset role;
select tests.confirmed_on(:'rid', 2, '2030-06-06 19:00+00', :'t2') as pair \gset
select tests.create_booking(:'rid', 4, '2030-06-06 19:00+00') as quartet \gset
set local role service_role;
select tests.lease_token(public.assignment_lease(:'quartet', 'dispatch')) as quartet_lease \gset
select pg_temp.move_as_seen(:'pair', :'t2', :'t1') as moves \gset
update public.bookings set start_at = '2030-06-06 19:15+00' where id = :'pair';
select tests.lease_token(public.assignment_lease(:'pair', 'dispatch')) as pair_lease \gset
select public.assignment_commit(:'pair', :'pair_lease', array[:'t2'::uuid], 'scarcity_fit') ->> 'outcome' as seated \gset
select is(public.assignment_commit(:'quartet', :'quartet_lease', array[:'t2'::uuid], 'scarcity_fit', 10, '{}'::jsonb,
                                   null, :'moves'::jsonb) ->> 'reason',
  'a booking to move changed since the snapshot', 'a booking held again for another time is changed since too');

-- Unchanged, the move is made, though the coordinator sends the view to the millisecond only, its start rounded
-- down and its end up (a stay from 19:00:00.000001 comes back from 19:00:00.000 to 20:45:00.001).
reset role;
select tests.confirmed_on(:'rid', 2, '2030-06-08 19:00:00.000001+00', :'t2') as exact \gset
select tests.create_booking(:'rid', 4, '2030-06-08 19:00+00') as four_again \gset
set local role service_role;
select tests.lease_token(public.assignment_lease(:'four_again', 'dispatch')) as four_again_lease \gset
select jsonb_set(jsonb_set(pg_temp.move_as_seen(:'exact', :'t2', :'t1'),
  '{0,window_start}', to_jsonb(date_trunc('milliseconds', lower(tests.hold_of(:'exact'))))),
  '{0,window_end}', to_jsonb(date_trunc('milliseconds', upper(tests.hold_of(:'exact'))) + interval '1 millisecond'))
  as moves \gset
select is(public.assignment_commit(:'four_again', :'four_again_lease', array[:'t2'::uuid], 'scarcity_fit', 10,
                                   '{}'::jsonb, null, :'moves'::jsonb) ->> 'outcome',
  'confirmed', 'an unchanged booking is moved, its view compared to the millisecond');
select is(array[tests.tables_held(:'exact'), tests.tables_held(:'four_again')], array['T1', 'T2'],
  'the couple moved to the 2-top, the four seated on the 4-top');

-- 2. Guests on T6 at 19:00; a party of four at 17:15 on T5, held until 19:00; the plan moves the 19:00 guests
-- onto T5 next to them. Meanwhile the platform gives the party of four a longer buffer after.
reset role;
select tests.confirmed_on(:'rid', 2, '2030-06-05 19:00+00', :'t6') as later \gset
select tests.create_booking(:'rid', 4, '2030-06-05 17:15+00') as early \gset
set local role service_role;
select tests.lease_token(public.assignment_lease(:'early', 'dispatch')) as early_lease \gset
select pg_temp.move_as_seen(:'later', :'t6', :'t5') as moves \gset
update public.bookings set buffer_after_minutes = 30 where id = :'early';
select public.assignment_commit(:'early', :'early_lease', array[:'t5'::uuid], 'scarcity_fit', 10, '{}'::jsonb, null,
                                :'moves'::jsonb) as committed \gset
select is(:'committed'::jsonb ->> 'outcome', 'conflict',
  'a move that lands on the new booking''s table only because its stay grew since is a lost race');
select ok(:'committed'::jsonb ->> 'reason' like 'rule_changed:%', 'saying its rules changed since the snapshot');
select is(array[tests.tables_held(:'later'), (select assignment_state from public.bookings where id = :'early')],
  array['T6', 'assignment_in_progress'], 'the move is undone');

-- With nothing changed, a move onto the new booking's table while it sits there is the engine's fault.
reset role;
select tests.confirmed_on(:'rid', 2, '2030-06-07 18:30+00', :'t6') as overlapping \gset
select tests.create_booking(:'rid', 4, '2030-06-07 17:15+00') as first \gset
set local role service_role;
select tests.lease_token(public.assignment_lease(:'first', 'dispatch')) as first_lease \gset
select pg_temp.move_as_seen(:'overlapping', :'t6', :'t5') as moves \gset
select throws_ok(format($$ select public.assignment_commit(%L, %L, array[%L::uuid], 'scarcity_fit', 10, '{}'::jsonb,
                                                          null, %L::jsonb) $$,
                        :'first', :'first_lease', :'t5', :'moves'),
  'AS007', null, 'a move onto the new booking''s table with nothing changed is still refused as a broken rule');
reset role;
select is(tests.tables_held(:'overlapping'), 'T6', 'and nobody moved');

select * from finish();
rollback;
