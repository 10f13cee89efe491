-- Health counts a seated party whose longer stay overlaps the next booking on its tables, while the overlap
-- lasts (20261210110000). The platform's writes go through the Data API, so they run here as service_role.
begin;
select plan(5);

select tests.create_restaurant('Overstay') as rid \gset
select tests.add_table(:'rid', 'O1', 4) as o1 \gset
select tests.add_table(:'rid', 'O2', 4) as o2 \gset
select tests.create_booking(:'rid', 2, '2030-07-01 18:00+00') as seated \gset
select ops.assign_tables(:'seated', array['O1'], 'ana') ->> 'outcome' as confirmed \gset
select tests.create_booking(:'rid', 2, '2030-07-01 21:00+00') as next \gset
select ops.assign_tables(:'next', array['O1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
reset role;
select (ops.health() ->> 'seated_stays_overlapping')::int as before \gset

-- A longer stay that fits is held, and is no problem.
set local role service_role;
update public.bookings set end_at = '2030-07-01 20:00+00' where id = :'seated';
reset role;
select is((ops.health() ->> 'seated_stays_overlapping')::int, :before, 'a longer stay held in full is no problem');

-- One that runs into the next booking, which an operator placed, keeps the hold it had (one the pipeline placed
-- would be planned again: 20261227020000): health counts it and says what to do.
set local role service_role;
update public.bookings set end_at = '2030-07-01 21:30+00' where id = :'seated';
reset role;
select is((ops.health() ->> 'seated_stays_overlapping')::int, :before + 1, 'a seated stay overlapping the next booking is counted');
select ok(ops.health() -> 'problems' ? 'a seated party''s longer stay overlaps the next booking on its tables: give that booking other tables (ops.assign_tables)',
  'and health calls it a problem, with what clears it');

-- Moving the next booking clears it.
select ops.assign_tables(:'next', array['O2'], 'ana') ->> 'outcome' as moved \gset
select is((ops.health() ->> 'seated_stays_overlapping')::int, :before, 'once the next booking has other tables, it is no longer counted');
select ok(not (ops.health() -> 'problems' ? 'a seated party''s longer stay overlaps the next booking on its tables: give that booking other tables (ops.assign_tables)'),
  'and the problem is gone');

select * from finish();
rollback;
