-- A re-seating offer that can no longer be made is not shown (20261231220000): the queue shows a stored offer
-- only while each booking it moves may still be moved as it says. Operators read the queue as service_role.
begin;
select plan(9);

create function pg_temp.offers_shown(p_restaurant uuid, p_booking uuid) returns integer language plpgsql as $$
declare shown integer;
begin
  set local role service_role;
  select count(*)::int into shown from ops.manual_review_queue(p_restaurant) q, jsonb_array_elements(q.alternatives) a
   where q.booking_id = p_booking and a ? 'moves';
  reset role;
  return shown;
end $$;

-- A 2-top and a 4-top; a couple holds the 4-top at 19:00, so four guests fit only if the couple moves to the
-- 2-top. The search stored that offer for 19:15.
select tests.create_restaurant('Stale offers') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset
set local role service_role;
select public.review_offer_reseating(:'four', :'key', jsonb_build_array(jsonb_build_object(
         'start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid),
         'moves', jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid,
                                                       'from_table_ids', jsonb_build_array(:'t2'::uuid),
                                                       'to_table_ids', jsonb_build_array(:'t1'::uuid)))))) ->> 'outcome' as stored \gset
reset role;
select is(pg_temp.offers_shown(:'rid', :'four'), 1, 'the offer is shown while the couple may move');

-- Placed by staff: an accept would refuse to move it, so the offer is not shown.
update public.booking_table_assignments set source = 'ops' where booking_id = :'couple';
select is(pg_temp.offers_shown(:'rid', :'four'), 0, 'not while the couple''s table was given by staff');
update public.booking_table_assignments set source = 'auto' where booking_id = :'couple';
select is(pg_temp.offers_shown(:'rid', :'four'), 1, 'shown again once it is the pipeline''s');

-- On other tables than the offer moves it from.
update public.booking_table_assignments set table_id = :'t1' where booking_id = :'couple';
select is(pg_temp.offers_shown(:'rid', :'four'), 0, 'not once the couple holds other tables');
update public.booking_table_assignments set table_id = :'t2' where booking_id = :'couple';

-- The table it would move to is taken meanwhile (a walk-in at the 2-top), then free again.
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as walk_in \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
values (:'walk_in', :'rid', :'t1', tstzrange('2030-06-03 19:00+00', '2030-06-03 20:45+00'), 'ops', 'tests');
select is(pg_temp.offers_shown(:'rid', :'four'), 0, 'not while the table the couple would move to is taken');
delete from public.booking_table_assignments where booking_id = :'walk_in';
select is(pg_temp.offers_shown(:'rid', :'four'), 1, 'shown again once it is free');

-- The table the four would get is taken later in their stay by another party.
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
values (:'walk_in', :'rid', :'t2', tstzrange('2030-06-03 20:50+00', '2030-06-03 21:05+00'), 'ops', 'tests');
select is(pg_temp.offers_shown(:'rid', :'four'), 0, 'not while the four''s own table is taken during their stay');
delete from public.booking_table_assignments where booking_id = :'walk_in';

-- Checked in: a party that has arrived is not moved.
update public.bookings set status = 'checked_in' where id = :'couple';
select is(pg_temp.offers_shown(:'rid', :'four'), 0, 'not once the couple has arrived');
update public.bookings set status = 'confirmed' where id = :'couple';

-- Cancelled.
select tests.force_state(:'couple', 'cancelled');
select is(pg_temp.offers_shown(:'rid', :'four'), 0, 'not once the couple is cancelled');

select * from finish();
rollback;
