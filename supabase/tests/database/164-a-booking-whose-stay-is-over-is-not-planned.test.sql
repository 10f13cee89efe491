-- A booking whose stay is over is not planned (20261231450000): one a platform inserts for a visit already
-- ended, and a confirmed one whose party size a platform corrects after the visit, go to manual review as
-- stay_over when the coordinator's lease verifies them, holding no table and telling the guest nothing; a stay
-- under way is still planned. Written as service_role, as the Data API and the coordinator's client call it.
begin;
select plan(8);

select tests.run_v3();
select tests.create_restaurant('After the visit') as rid \gset
select tests.add_table(:'rid', 'A1', 4) as a1 \gset
select tests.add_table(:'rid', 'A2', 4) as a2 \gset
-- Open at all hours, so that a stay under way now is inside a service period whatever the time of the run.
delete from public.service_periods where restaurant_id = :'rid';
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
select :'rid', 'All hours', d, '00:00', '24:00' from generate_series(0, 6) d;
create function pg_temp.messages(p_booking uuid) returns bigint language sql as $$
  select count(*) from public.notification_outbox where booking_id = p_booking and status = 'pending';
$$;

set local role service_role;
-- 1. Inserted after its visit ended (a start up to a day back is accepted).
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, now() - interval '3 hours', now() - interval '1 hour') returning id as ended \gset
select public.assignment_begin(:'ended') as ended_lease \gset
select is(:'ended_lease'::jsonb ->> 'outcome', 'manual_review', 'a booking inserted after its visit is not planned');
select ok(:'ended_lease'::jsonb ->> 'reason' like 'stay_over: the stay ended at % UTC before it could be planned%',
  'it goes to review as stay_over, saying when the stay ended');
reset role;

-- 2. Confirmed for a visit that is over, never marked completed; the platform corrects its party size after.
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, now() - interval '4 hours', now() - interval '2 hours') returning id as corrected \gset
select tests.force_state(:'corrected', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'corrected';
set local role service_role;
update public.bookings set party_size = 3 where id = :'corrected';
select public.assignment_begin(:'corrected') as corrected_lease \gset
select is(:'corrected_lease'::jsonb ->> 'reason' like 'stay_over:%', true,
  'a confirmed booking changed after its visit is not planned again');
reset role;
select is((select count(*) from public.booking_table_assignments where booking_id = :'corrected' and released_at is null),
  0::bigint, 'it holds no table');
select is(pg_temp.messages(:'corrected'), 0::bigint, 'and its guest is sent nothing');

-- 3. Under way: started half an hour ago, an hour to go.
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, now() - interval '30 minutes', now() + interval '1 hour') returning id as under_way \gset
select is(public.assignment_begin(:'under_way') ->> 'outcome', 'ready', 'a stay under way is planned');
reset role;

select is((select count(*) from public.observability_events
            where booking_id in (:'ended', :'corrected') and event_type = 'coordinator.manual_review'
              and context ->> 'reason' = 'stay_over'), 2::bigint,
  'each escalation''s event names the code');
select is((select meaning from private.reason_codes where code = 'stay_over'),
  'the stay had ended before it could be planned', 'the code is one of the pipeline''s');

select * from finish();
rollback;
