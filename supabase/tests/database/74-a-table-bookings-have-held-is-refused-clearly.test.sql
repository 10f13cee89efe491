-- Deleting a table bookings have held is refused with what to do instead (20261226080000); the platform
-- writes through service_role.
begin;
select plan(5);


select tests.create_restaurant('Refit') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as b \gset
select ops.assign_tables(:'b', array['T1'], 'ana') ->> 'outcome' as confirmed \gset

set local role service_role;
select throws_ok(format($$delete from public.restaurant_tables where id = %L$$, :'t1'), 'AS005',
  'table T1 has been held by bookings and stays on record: take it out of use instead (active = false)',
  'a table bookings have held is refused at once, saying what to do');
select is(tests.sqlstate_of(format($$delete from public.zones where restaurant_id = %L$$, :'rid')), 'AS005',
  'so is its zone, with it');
select is(tests.sqlstate_of(format($$delete from public.restaurant_tables where id = %L$$, :'t2')), null,
  'a table never held may be deleted');
select is(tests.sqlstate_of(format($$update public.restaurant_tables set active = false where id = %L$$, :'t1')), null,
  'the held one is taken out of use instead');
select is(tests.sqlstate_of(format($$delete from public.restaurants where id = %L$$, :'rid')), null,
  'and a restaurant is deleted with all of it');
reset role;

select * from finish();
rollback;
