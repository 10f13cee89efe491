-- A plan that moves a booking onto the tables it seats the new booking on is refused as the plan's error, and
-- its moves are undone with it (20261210170000). Before, the commit answered conflict and kept the moves.
begin;
select plan(3);

select tests.create_restaurant('No room made') as rid \gset
select tests.add_table(:'rid', 'N2', 2) as n2 \gset
select tests.add_table(:'rid', 'N4', 4) as n4 \gset
select ops.set_reoptimization(true, 'ana', :'rid', 'pooling');
select tests.create_booking(:'rid', 2, '2030-05-13 19:00+00') as couple \gset
select (public.assignment_begin(:'couple')) ->> 'lease_token' as lease \gset
select is(public.assignment_commit(:'couple', :'lease', array[:'n4']::uuid[], 'first_fit') ->> 'outcome', 'confirmed',
  'a couple holds the 4-top');
select tests.create_booking(:'rid', 2, '2030-05-13 19:30+00') as second \gset
select public.assignment_begin(:'second') as began \gset

-- The second couple on the 2-top, moving the first couple onto that same 2-top: no room is made.
select throws_like(
  format($$select public.assignment_commit(%L, %L, array[%L]::uuid[], 'optimal_fit', 1, '{}', null,
                    jsonb_build_array(jsonb_build_object('booking_id', %L, 'from_table_ids', array[%L],
                                                         'to_table_ids', array[%L])))$$,
         :'second', (:'began'::jsonb) ->> 'lease_token', :'n2', :'couple', :'n4', :'n2'),
  '%moves a booking onto a table it seats the new booking on: N2%', 'a plan whose moves make no room is refused');
select is((select array_agg(t.table_number) from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
            where a.booking_id = :'couple' and a.released_at is null), array['N4'], 'and the couple is where it was');

select * from finish();
rollback;
