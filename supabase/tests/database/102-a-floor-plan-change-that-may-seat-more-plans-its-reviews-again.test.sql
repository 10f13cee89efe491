-- A floor-plan change that may seat more plans again the reviews the engine decided before it
-- (20261228100000). The platform's writes go through the Data API's role; the re-check runs as its cron job
-- runs it, a minute on (the floor plan must have been left alone for 10 s).
begin;
select plan(24);

select tests.create_restaurant('Room to spare') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
select tests.add_table(:'rid', 'R2', 2) as r2 \gset
select set_config('tests.rid', :'rid', true) is not null as rid_set \gset
create function pg_temp.recheck() returns jsonb language sql as $$
  select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds',
                                     current_setting('tests.rid')::uuid);
$$;
create function pg_temp.state(p_booking uuid) returns text language sql as $$
  select assignment_state from public.bookings where id = p_booking;
$$;
create function pg_temp.reviewed(p_party integer, p_start timestamptz, p_reason text) returns uuid
language plpgsql as $$
declare id uuid := tests.create_booking(current_setting('tests.rid')::uuid, p_party, p_start);
begin
  perform tests.force_state(id, 'manual_review', p_reason);
  return id;
end $$;
-- A clean slate: the restaurant's own set-up marked it.
select pg_temp.recheck() is not null as settled \gset

select pg_temp.reviewed(6, '2030-12-07 19:00+00', 'no_table_fits: no free table or combination seats a party of 6') as six \gset
select pg_temp.reviewed(6, '2030-12-07 21:00+00', 'caller asked: allergy, call the guest') as asked \gset
select pg_temp.reviewed(3, '2030-12-08 19:00+00', 'attempts_exhausted: 5 attempts failed; last: error: timeout') as exhausted \gset
select pg_temp.reviewed(5, '2030-12-08 20:00+00', 'party_too_large: a party of 5 exceeds the largest possible arrangement (4 seats)') as five \gset

-- A change that only takes room away re-plans no review.
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'r2';
reset role;
select ok((select room_added_at is null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'taking a table out of service marks the restaurant, but as no room added');
select pg_temp.recheck() is not null as taken \gset
select is(array[pg_temp.state(:'six'), pg_temp.state(:'five')], array['manual_review', 'manual_review'],
  'and the reviews stay');

-- A table added: the reviews the engine decided go back to be planned; the others stay.
set local role service_role;
insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
values (:'rid', tests.zone_id(:'rid', 'Main'), 'R3', 6, 6);
reset role;
select ok((select room_added_at is not null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'a table added marks the restaurant as room added');
select is(pg_temp.recheck() ->> 'replanned', '2', 'the re-check plans two reviews again');
select is(array[pg_temp.state(:'six'), pg_temp.state(:'five')], array['assignment_pending', 'assignment_pending'],
  'those the engine sent to review: nothing fitted, the party too large');
select ok((select reason like 'floor_plan_adds_room: %' from public.booking_assignment_state_history
            where booking_id = :'six' order by version desc limit 1), 'the history says why');
select ok((select next_attempt_at is not null from public.bookings where id = :'six'), 'and it is due to be planned');
select is(array[pg_temp.state(:'asked'), pg_temp.state(:'exhausted')], array['manual_review', 'manual_review'],
  'a review the platform asked for, or one whose attempts ran out, stays for an operator');
select is((select count(*)::int from private.floor_plan_rechecks where restaurant_id = :'rid'), 0, 'the restaurant is checked');

-- Back in review after the change (the engine's verdict on the new floor plan): not planned again by it.
select tests.force_state(:'six', 'manual_review', 'no_table_fits: no free table or combination seats a party of 6');
insert into private.floor_plan_rechecks (restaurant_id, changed_at, room_added_at)
values (:'rid', clock_timestamp() - interval '1 minute', now() - interval '1 second');
select is(pg_temp.recheck() ->> 'replanned', '0', 'a review that came after the change is not planned again for it');
select is(pg_temp.state(:'six'), 'manual_review', 'so it stays');

-- Each kind of change that may seat more.
set local role service_role;
update public.restaurant_tables set out_of_service = false where id = :'r2';
reset role;
select is(pg_temp.recheck() ->> 'replanned', '1', 'a table back in service');
select tests.force_state(:'six', 'manual_review', 'no_table_fits: again');
set local role service_role;
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'r1', :'r2');
reset role;
select is(pg_temp.recheck() ->> 'replanned', '1', 'two tables joined');
select tests.force_state(:'six', 'manual_review', 'outside_service_hours: again');
set local role service_role;
update public.service_periods set ends_at = '23:30' where restaurant_id = :'rid';
reset role;
select is(pg_temp.recheck() ->> 'replanned', '1', 'service hours changed');

-- Not for a restaurant switched off: an operator seats its bookings.
select tests.force_state(:'six', 'manual_review', 'no_table_fits: again');
select ops.set_restaurant_mode(:'rid', 'off', 'ana', 'seating by hand tonight') is not null as off \gset
set local role service_role;
update public.restaurant_tables set capacity = 8, max_party_size = 8 where id = :'r1';
reset role;
select is(pg_temp.recheck() ->> 'replanned', '0', 'a restaurant switched off has its reviews left for an operator');
select is(pg_temp.state(:'six'), 'manual_review', 'so it stays');

-- On the legacy path a review that nothing fitted reads as attempts run out, the last one's verdict after it.
select ops.set_restaurant_mode(:'rid', 'legacy', 'ana', 'back on the first implementation') is not null as legacy \gset
select pg_temp.reviewed(7, '2030-12-09 19:00+00',
  'attempts_exhausted: 4 attempts failed; last: no_table_fits: no free table or combination seats a party of 7') as seven \gset
set local role service_role;
update public.restaurant_tables set capacity = 10, max_party_size = 10 where id = :'r1';
reset role;
select pg_temp.recheck() is not null as rechecked \gset
select is(array[pg_temp.state(:'seven'), pg_temp.state(:'exhausted')], array['assignment_pending', 'manual_review'],
  'a review whose last attempt found nothing fitted is planned again; one whose last attempt failed stays');

-- Room taken away after room was added, before the re-check: the room added still counts.
select tests.force_state(:'seven', 'manual_review', 'no_table_fits: again');
set local role service_role;
insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
values (:'rid', tests.zone_id(:'rid', 'Main'), 'R4', 2, 2);
update public.restaurant_tables set out_of_service = true where table_number = 'R4' and restaurant_id = :'rid';
reset role;
select ok((select room_added_at is not null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'a change that takes room away keeps the room an earlier one added');

-- Service hours cut short add no room.
select pg_temp.recheck() is not null as settled_again \gset
select tests.force_state(:'seven', 'manual_review', 'no_table_fits: again');
set local role service_role;
update public.service_periods set ends_at = '23:00' where restaurant_id = :'rid';
reset role;
select ok((select room_added_at is null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'service hours cut short mark the restaurant as no room added');
-- Opening earlier on one day, or moving a period to another day, may seat more.
select pg_temp.recheck() is not null as settled_hours \gset
set local role service_role;
update public.service_periods set starts_at = '10:00' where restaurant_id = :'rid' and day_of_week = 2;
reset role;
select ok((select room_added_at is not null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'a period that starts earlier adds room');
select pg_temp.recheck() is not null as settled_earlier \gset
select tests.force_state(:'seven', 'manual_review', 'no_table_fits: again');
set local role service_role;
delete from public.service_periods where restaurant_id = :'rid' and day_of_week in (0, 1);
reset role;
select ok((select room_added_at is null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'periods removed while others remain add no room');
select pg_temp.recheck() is not null as settled_removed \gset
select tests.force_state(:'seven', 'manual_review', 'no_table_fits: again');
set local role service_role;
delete from public.service_periods where restaurant_id = :'rid';
reset role;
select ok((select room_added_at is not null from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'the last period removed lifts the hours: room added');

-- A restaurant with no review the engine decided: a table added queues no re-check.
select tests.create_restaurant('Nothing to review') as quiet \gset
select tests.add_table(:'quiet', 'Q1', 2) as q1 \gset
select tests.create_booking(:'quiet', 2, '2030-12-07 19:00+00') as queued \gset
select tests.force_state(:'queued', 'manual_review', 'caller asked: call the guest');
delete from private.floor_plan_rechecks where restaurant_id = :'quiet';
set local role service_role;
insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
values (:'quiet', tests.zone_id(:'quiet', 'Main'), 'Q2', 4, 4);
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'quiet', least(:'q1'::uuid, id), greatest(:'q1'::uuid, id) from public.restaurant_tables where table_number = 'Q2' and restaurant_id = :'quiet';
reset role;
select is((select count(*)::int from private.floor_plan_rechecks where restaurant_id = :'quiet'), 0,
  'tables and pairs added where no review waits on the engine''s verdict queue nothing');
select is(pg_temp.state(:'queued'), 'manual_review', 'and the review the platform asked for stays');

select * from finish();
rollback;
