-- The seating options an escalation works out are kept per floor plan (20261215000000) and read back only
-- while the restaurant's tables, adjacency and combination limit are what they were worked out for. The
-- escalation runs as service_role, as the coordinator's call through the Data API does.
begin;
select plan(13);

-- Three 2-tops in a row: four sit at two neighbours, six at all three.
select tests.create_restaurant('Kept options') as rid \gset
select tests.add_table(:'rid', 'S1', 2) as s1 \gset
select tests.add_table(:'rid', 'S2', 2) as s2 \gset
select tests.add_table(:'rid', 'S3', 2) as s3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'rid', least(a, b), greatest(a, b) from (values (:'s1'::uuid, :'s2'::uuid), (:'s2', :'s3')) v(a, b);
select tests.create_booking(:'rid', 4, '2031-03-04 19:00+00') as four \gset
create temp table subject as select :'four'::uuid as id;
grant select on subject to service_role;
create function pg_temp.four() returns public.bookings language sql as $$
  select b from public.bookings b where b.id = (select id from subject)
$$;
create function pg_temp.kept() returns setof private.seating_options_cache language sql as $$
  select c.* from private.seating_options_cache c join public.bookings b on b.restaurant_id = c.restaurant_id
   where b.id = (select id from subject)
$$;

-- The four are escalated: a six holds all three tables from 20:00.
select ops.assign_tables(tests.create_booking(:'rid', 6, '2031-03-04 20:00+00'), array['S1', 'S2', 'S3'], 'ana') ->> 'outcome' as six \gset
set local role service_role;
select (public.assignment_begin(:'four', 'dispatch')) ->> 'lease_token' as lease \gset
select is(public.assignment_fail(:'four', :'lease', 'no_fit', 'no_table_fits: all taken') ->> 'outcome', 'manual_review',
  'the four go to manual review');
reset role;
select ok(not has_table_privilege('service_role', 'private.seating_options_cache', 'select')
          and not has_table_privilege('authenticated', 'private.seating_options_cache', 'select'),
  'the kept options are not the Data API''s to read');

select is((select count(*)::int from pg_temp.kept()), 1, 'the escalation kept the options of its party size');
select is((select options from pg_temp.kept()), private.work_out_seating_options(pg_temp.four()),
  'as worked out for the floor plan it saw');
select is((select floor_plan_changes from pg_temp.kept()), private.floor_plan_version(:'rid'),
  'under the floor plan''s count of changes');
select ok((select jsonb_array_length(alternatives) > 0 from ops.manual_review_queue(:'rid') where booking_id = :'four'),
  'and the queue offers the four another time from them');

-- A marker in place of the kept options shows which reads use them.
update private.seating_options_cache set options = '[{"ids": [], "numbers": ["kept"]}]'
 where restaurant_id = :'rid';
select is(private.seating_options(pg_temp.four()) -> 0 -> 'numbers', '["kept"]'::jsonb,
  'a read under the same floor plan uses the kept options');

insert into public.table_adjacency (restaurant_id, table_a, table_b)
values (:'rid', least(:'s1'::uuid, :'s3'::uuid), greatest(:'s1'::uuid, :'s3'::uuid));
select is(private.seating_options(pg_temp.four()), private.work_out_seating_options(pg_temp.four()),
  'an adjacency added since: worked out again');

select private.remember_seating_options(pg_temp.four());
select ok((select floor_plan_changes = private.floor_plan_version(:'rid')
                  and options = private.work_out_seating_options(pg_temp.four()) from pg_temp.kept()),
  'the next escalation replaces the row kept for the older floor plan, options and all');
update private.seating_options_cache set options = '[{"ids": [], "numbers": ["kept"]}]'
 where restaurant_id = :'rid';
update public.restaurant_tables set out_of_service = true where id = :'s2';
select is(private.seating_options(pg_temp.four()), private.work_out_seating_options(pg_temp.four()),
  'a table taken out of service: worked out again');
select ok(not (private.seating_options(pg_temp.four()) @> '[{"numbers": ["S1", "S2"]}]'),
  'without the table taken out of service');

-- The combination limit is part of what they were worked out for.
update public.restaurant_tables set out_of_service = false where id = :'s2';
select private.remember_seating_options(pg_temp.four());
update private.seating_options_cache set options = '[{"ids": [], "numbers": ["kept"]}]'
 where restaurant_id = :'rid';
insert into private.restaurant_pipeline_settings (restaurant_id, max_tables_per_booking) values (:'rid', 1);
select is(private.seating_options(pg_temp.four()), '[]'::jsonb,
  'a lower combination limit: worked out again (no single table seats four)');

-- A writer that sees fewer changes than the row was kept for leaves the row alone.
delete from private.restaurant_pipeline_settings where restaurant_id = :'rid';
update private.seating_options_cache set floor_plan_changes = floor_plan_changes + 5 where restaurant_id = :'rid';
select private.remember_seating_options(pg_temp.four());
select is((select options -> 0 -> 'numbers' from pg_temp.kept()), '["kept"]'::jsonb,
  'a row kept for a later floor plan is not replaced by an earlier one');

select * from finish();
rollback;
