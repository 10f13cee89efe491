-- A hold of a table already gone is refused within the statement that writes it (20261231250000), not only by
-- the reference's check at commit: the hold's trigger locks its tables' rows and refuses one it cannot find,
-- with the SQLSTATE the check at commit would give (23503), so a caller's handler (the coordinator's race, an
-- operator's call) sees it within the call. Written as the owner, the only role that may write holds directly.
begin;
select plan(2);

select tests.create_restaurant('Gone table') as r \gset
select tests.add_table(:'r', 'T1', 4) as t1 \gset
select tests.add_table(:'r', 'T2', 4) as t2 \gset
select tests.create_booking(:'r', 2, '2030-11-01 19:00+00') as b \gset
delete from public.restaurant_tables where id = :'t2';

select throws_ok(
  format($$insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
           values (%L, %L, %L, tstzrange('2030-11-01 19:00+00', '2030-11-01 21:00+00'), 'auto', 'test'),
                  (%L, %L, %L, tstzrange('2030-11-01 19:00+00', '2030-11-01 21:00+00'), 'auto', 'test')$$,
         :'b', :'r', :'t1', :'b', :'r', :'t2'),
  '23503', 'a table to hold was deleted meanwhile', 'a hold naming a table already gone is refused within its statement');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'b'), 0,
  'and holds none of its tables');

select * from finish();
rollback;
