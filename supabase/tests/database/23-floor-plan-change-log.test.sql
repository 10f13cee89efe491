begin;
select plan(21);

-- The digest a lease keeps of what the rules read changes with every change to the booking's own inputs and
-- to its restaurant's floor plan, and with nothing else.
select tests.create_restaurant('Digest') as r \gset
select tests.add_table(:'r', 'D1', 4) as d1 \gset
select tests.add_table(:'r', 'D2', 4) as d2 \gset
select tests.create_restaurant('Elsewhere') as other \gset
select tests.add_table(:'other', 'E1', 4) as e1 \gset
select tests.create_booking(:'r', 2, '2030-04-07 19:00+00') as b \gset

create temp table digests (step text primary key, digest text);
create temp table subject as select :'b'::uuid as id;
create function pg_temp.digest() returns text language sql as $$
  select private.rules_digest(b, private.settings_for(b.restaurant_id))
    from public.bookings b where b.id = (select id from subject)
$$;
insert into digests values ('start', pg_temp.digest());
select is(pg_temp.digest(), (select digest from digests where step = 'start'), 'the digest is the same while nothing changes');

-- Each change must move the digest away from every digest seen before it.
create function pg_temp.moved(p_step text) returns boolean language plpgsql as $$
declare
  d text := pg_temp.digest();
  fresh boolean := not exists (select 1 from digests where digest = d);
begin
  insert into digests values (p_step, d);
  return fresh;
end $$;

select tests.add_table(:'r', 'D3', 6);
select ok(pg_temp.moved('table added'), 'a table added changes it');
update public.restaurant_tables set capacity = 3, max_party_size = 3 where id = :'d1';
select ok(pg_temp.moved('capacity'), 'so does a capacity lowered');
update public.restaurant_tables set out_of_service = true where id = :'d2';
select ok(pg_temp.moved('out of service'), 'a table taken out of service');
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'r', :'d1', :'d2');
select ok(pg_temp.moved('adjacency added'), 'an adjacency added');
delete from public.table_adjacency where restaurant_id = :'r';
select ok(pg_temp.moved('adjacency removed'), 'an adjacency removed');
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at) values (:'r', 'Dinner', 0, '17:00', '23:00');
select ok(pg_temp.moved('service period'), 'service hours set');
update public.service_periods set ends_at = '22:00' where restaurant_id = :'r';
select ok(pg_temp.moved('service period moved'), 'service hours moved');
update public.restaurants set timezone = 'Europe/Paris' where id = :'r';
select ok(pg_temp.moved('time zone'), 'the time zone');
delete from public.restaurant_tables where table_number = 'D3' and restaurant_id = :'r';
select ok(pg_temp.moved('table removed'), 'a table removed');
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'r', :'d1', :'d2');
insert into digests values ('before truncate', pg_temp.digest());
truncate public.table_adjacency;
select ok(pg_temp.moved('truncated'), 'every adjacency truncated away');
select count(*) as logged from private.floor_plan_changes where restaurant_id = :'r' \gset
update public.restaurant_tables set movable = not movable where restaurant_id = :'r';
select is((select count(*)::int from private.floor_plan_changes where restaurant_id = :'r'), :logged + 1,
  'a statement changing many tables is one change');
select ok(pg_temp.moved('many tables'), 'and changes the digest');
select ok(private.rules_digest(jsonb_populate_record(b, '{"party_size": 3}'), private.settings_for(:'r'))
            <> pg_temp.digest(), 'the booking''s party size')
  from public.bookings b where b.id = :'b';
select ok(private.rules_digest(jsonb_populate_record(b, jsonb_build_object('start_at', b.start_at + interval '15 minutes',
                                                                           'end_at', b.end_at + interval '15 minutes')),
                               private.settings_for(:'r')) <> pg_temp.digest(), 'its time')
  from public.bookings b where b.id = :'b';

-- As the Data API writes it: service_role, through the trigger's own rights on the private log.
select count(*) as before_api from private.floor_plan_changes where restaurant_id = :'r' \gset
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true) as claims \gset
update public.restaurant_tables set out_of_service = false where id = :'d2';
reset role;
select is((select count(*)::int from private.floor_plan_changes where restaurant_id = :'r'), :before_api + 1,
  'a change service_role makes is logged too');
select ok(pg_temp.moved('service_role'), 'and changes the digest');

insert into digests values ('before unrelated', pg_temp.digest());
update public.restaurants set name = 'Digest renamed' where id = :'r';
update public.restaurant_tables set capacity = 8, max_party_size = 8 where id = :'e1';
update public.restaurants set timezone = 'Asia/Tokyo' where id = :'other';
select is(pg_temp.digest(), (select digest from digests where step = 'before unrelated'),
  'a renamed restaurant or another restaurant''s floor plan leaves it alone');
set local timezone = 'America/New_York';
select is(pg_temp.digest(), (select digest from digests where step = 'before unrelated'),
  'and so does the session''s time zone');

-- A restaurant deleted with its floor plan leaves nothing behind.
delete from public.restaurants where id = :'other';
select is((select count(*)::int from private.floor_plan_changes where restaurant_id = :'other'), 0,
  'a deleted restaurant takes its floor plan''s change log with it');
select ok(not exists (select 1 from public.restaurant_tables where restaurant_id = :'other'), 'and its tables');

select * from finish();
rollback;
