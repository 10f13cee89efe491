begin;
select plan(13);

-- A 2-top and a 4-top. A couple already holds the 4-top; a party of four then asks for the same time.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as couple \gset
select (public.assignment_begin(:'couple')) ->> 'lease_token' as lease \gset
select public.assignment_commit(:'couple', :'lease', array[:'t2']::uuid[], 'first_fit');
select tests.create_booking(:'rid', 4, '2030-01-07 19:00+00') as four \gset
select public.assignment_begin(:'four') as began \gset

select is((:'began'::jsonb) -> 'snapshot' -> 'placed', '[]'::jsonb, 'with re-optimisation off the snapshot lists no movable bookings');
-- (Since 20261227150000 a commit proposing moves while re-optimisation is off makes none and ends the attempt
-- as a conflict, as one planned before an operator turned it off does; it used to fail with AS005.)
select is(public.assignment_commit(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2']::uuid[],
            'optimal_fit', 1, '{}', null,
            jsonb_build_array(jsonb_build_object('booking_id', :'couple', 'from_table_ids', array[:'t2'], 'to_table_ids', array[:'t1'])))
          ->> 'outcome' || ' ' || (select string_agg(t.table_number, '+') from public.booking_table_assignments a
                                    join public.restaurant_tables t on t.id = a.table_id
                                   where a.booking_id = :'couple' and a.released_at is null),
  'conflict T2', 'moves are refused while re-optimisation is off: a conflict, the couple kept where it was');

select ops.set_reoptimization(true, 'ana', :'rid', 'try pooling');
select public.assignment_fail(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, 'conflict', 'conflict: test');
update public.bookings set next_attempt_at = now() where id = :'four';
select public.assignment_begin(:'four') as began \gset
select is(jsonb_array_length((:'began'::jsonb) -> 'snapshot' -> 'placed'), 1, 'with it on, the snapshot lists the couple');
select is((:'began'::jsonb) -> 'snapshot' -> 'placed' -> 0 ->> 'locked', 'false', 'who may still be moved');

-- A move that no longer matches what the engine saw is a conflict; one that breaks a rule is an error.
select is(public.assignment_commit(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2']::uuid[], 'optimal_fit', 1, '{}', null,
            jsonb_build_array(jsonb_build_object('booking_id', :'couple', 'from_table_ids', array[:'t1'], 'to_table_ids', array[:'t2'])))
          ->> 'outcome', 'conflict', 'a move from tables the booking no longer holds is a conflict');
select throws_like(
  format($$select public.assignment_commit(%L, %L, array[%L]::uuid[], 'optimal_fit', 1, '{}', null,
                  jsonb_build_array(jsonb_build_object('booking_id', %L, 'from_table_ids', array[%L], 'to_table_ids', array[%L, %L])))$$,
         :'four', (:'began'::jsonb) ->> 'lease_token', :'t2', :'couple', :'t2', :'t1', :'t2'),
  '%a proposed move breaks a rule%', 'a move onto tables that break a rule is refused');

select is(public.assignment_commit(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2']::uuid[], 'optimal_fit', 1, '{}', null,
            jsonb_build_array(jsonb_build_object('booking_id', :'couple', 'from_table_ids', array[:'t2'], 'to_table_ids', array[:'t1'])))
          ->> 'outcome', 'confirmed', 'moving the couple to the 2-top lets the four in');
select is((select array_agg(t.table_number) from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
            where a.booking_id = :'couple' and a.released_at is null), array['T1'], 'the couple now holds the 2-top');
select is((select assignment_state from public.bookings where id = :'couple'), 'confirmed', 'and stays confirmed');
select is((select count(*)::int from public.observability_events where booking_id = :'couple' and event_type = 'coordinator.booking_moved'),
  1, 'the move is recorded');

-- Staff placements are never moved.
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as staff \gset
select ops.assign_tables(:'staff', array['T2'], 'ana');
select tests.create_booking(:'rid', 4, '2030-01-08 19:00+00') as four2 \gset
select public.assignment_begin(:'four2') as began2 \gset
select is((:'began2'::jsonb) -> 'snapshot' -> 'placed' -> 0 ->> 'locked', 'true', 'a booking placed by staff is locked');

-- The snapshot tells the engine the restaurant's shortest stay (dining plus buffers), which scarcity_fit uses
-- to tell a usable gap from dead time: the shortest band of the turn-time policy, or the default turn.
select is((private.assignment_snapshot(b, private.settings_for(b.restaurant_id)) ->> 'min_stay_minutes')::integer, 105,
          'the shortest band''s dining plus buffers (1–4 guests: 90 + 15)')
  from public.bookings b where b.id = :'four2';
delete from public.turn_time_policies where restaurant_id = :'rid';
select is((private.assignment_snapshot(b, private.settings_for(b.restaurant_id)) ->> 'min_stay_minutes')::integer,
          (select default_turn_minutes from public.restaurants where id = :'rid'),
          'without a turn-time policy, the default turn')
  from public.bookings b where b.id = :'four2';

select * from finish();
rollback;
