-- A floor plan written back as it was plans no review again (20261231260000): a review keeps the digest of the
-- floor plan "nothing fits" was said of, and the re-check leaves it while the floor plan is the same, however
-- it was rewritten; a floor plan changed since, in any way, plans it again. The platform writes its floor plan
-- through the Data API, so as service_role; the coordinator's calls run as the function makes them.
begin;
select plan(8);

-- A booking the coordinator sends to review: leased, then "nothing fits" said on its snapshot.
create function pg_temp.reviewed(p_restaurant uuid, p_party integer, p_start timestamptz) returns uuid
language plpgsql as $$
declare
  id uuid := tests.create_booking(p_restaurant, p_party, p_start);
  lease uuid := tests.lease_token(public.assignment_begin(id));
begin
  perform public.assignment_fail(id, lease, 'no_fit',
    pg_catalog.format('no_table_fits: no free table or combination seats a party of %s', p_party));
  return id;
end $$;
create function pg_temp.replanned(p_restaurant uuid) returns integer language sql as $$
  select (private.replan_broken_holds(p_restaurant, now()) ->> 'replanned')::int;
$$;

-- A 2-top and a 4-top a couple holds at 19:00: four guests fit nowhere then, and go to review.
select tests.create_restaurant('Synced') as rid \gset
select tests.add_table(:'rid', 'S1', 2) as s1 \gset
select tests.add_table(:'rid', 'S2', 4) as s2 \gset
select tests.confirmed_on(:'rid', 2, '2030-09-01 19:00+00', :'s2') is not null as couple \gset
select pg_temp.reviewed(:'rid', 4, '2030-09-01 19:00+00') as four \gset
select is((select assignment_state from public.bookings where id = :'four'), 'manual_review', 'four guests go to review');
select is((select f.room_digest from private.review_floor_plans f where f.booking_id = :'four'),
          private.floor_plan_room_digest(:'rid'), 'the review keeps the floor plan it was said of');

-- The platform's sync deletes the service hours and the tables' pair list and writes them again as they were.
set local role service_role;
create temp table hours as select restaurant_id, name, day_of_week, starts_at, ends_at from public.service_periods
  where restaurant_id = :'rid';
delete from public.service_periods where restaurant_id = :'rid';
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at) select * from hours;
reset role;
select isnt((select room_added_at from private.floor_plan_rechecks where restaurant_id = :'rid'), null,
  'the sync marks the restaurant for a re-check, as hours added may seat more');
select is(pg_temp.replanned(:'rid'), 0, 'the re-check plans no review again for a floor plan written back as it was');
select is((select assignment_state from public.bookings where id = :'four'), 'manual_review', 'the four stay in review');

-- A real change: a 4-top added. The four are planned again.
select tests.add_table(:'rid', 'S3', 4) is not null as added \gset
select is(pg_temp.replanned(:'rid'), 1, 'a table added plans the review again');

-- A review said while a table was missing (deleted with no re-check: no booking held it; the other 4-top is
-- taken), then the table put back as it was: the floor plan is not the one the review was said of, so it is
-- planned again.
select tests.create_restaurant('Put back') as back \gset
select tests.add_table(:'back', 'B1', 4) as b1 \gset
select tests.add_table(:'back', 'B2', 4) as b2 \gset
select tests.confirmed_on(:'back', 2, '2030-09-02 19:00+00', :'b1') is not null as held \gset
set local role service_role;
delete from public.restaurant_tables where id = :'b2';
reset role;
select pg_temp.reviewed(:'back', 4, '2030-09-02 19:00+00') as missing \gset
select is((select assignment_state from public.bookings where id = :'missing'), 'manual_review',
  'with the 4-top gone, four guests go to review');
select tests.add_table(:'back', 'B2', 4) is not null as put_back \gset
select is(pg_temp.replanned(:'back'), 1, 'the 4-top put back as it was plans that review again');

select * from finish();
rollback;
