-- A booking changed while it was planned is planned again, even where the plan made for it as it was still
-- fits (20261231190000). The platform writes, and the coordinator calls, as service_role, as they do through
-- the Data API.
begin;
select plan(11);

-- Two 4-tops that join, and a 2-top.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'C1', 4) as c1 \gset
select tests.add_table(:'rid', 'C2', 4) as c2 \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'c1', :'c2');

-- While the engine plans a party of eight on the joined 4-tops, the platform cuts it to two.
select tests.create_booking(:'rid', 8, '2030-11-07 19:00+00') as eight \gset
select tests.lease_token(public.assignment_begin(:'eight')) as lease \gset
set local role service_role;
update public.bookings set party_size = 2 where id = :'eight';
select public.assignment_commit(:'eight', :'lease', array[:'c1', :'c2']::uuid[], 'scarcity_fit') as cut \gset
reset role;

select is(:'cut'::jsonb ->> 'outcome', 'conflict', 'the eight''s plan is not confirmed for the two');
select alike(:'cut'::jsonb ->> 'reason', 'rule_changed:%booking_changed%', 'the answer says the booking changed');
select is((:'cut'::jsonb -> 'snapshot' -> 'booking' ->> 'party_size')::int, 2,
  'and hands back a snapshot of the booking as it is now');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'eight'), 0,
  'no table is held for it');
select is((select e.context ->> 'rule' from public.observability_events e
            where e.booking_id = :'eight' and e.event_type = 'coordinator.commit_conflict'), 'booking_changed',
  'the conflict event names the cause');
-- The next plan, made on that snapshot, is the two's: confirmed on the same lease.
set local role service_role;
select is(public.assignment_commit(:'eight', :'lease', array[:'t1']::uuid[], 'scarcity_fit') ->> 'outcome', 'confirmed',
  'the plan for the two is confirmed');
reset role;

-- A time moved while planned: the tables chosen at 19:00 are not confirmed at 21:00 unasked.
select tests.create_booking(:'rid', 4, '2030-11-08 19:00+00') as moved \gset
select tests.lease_token(public.assignment_begin(:'moved')) as lease_moved \gset
set local role service_role;
update public.bookings set start_at = start_at + interval '2 hours', end_at = end_at + interval '2 hours'
 where id = :'moved';
select is(public.assignment_commit(:'moved', :'lease_moved', array[:'c1']::uuid[], 'scarcity_fit') ->> 'outcome',
  'conflict', 'a booking moved in time while planned is planned again');
reset role;

-- Unchanged, with only the floor plan changed since the snapshot (a table added): the plan still fits, and a
-- floor plan written meanwhile sends nothing round again.
select tests.create_booking(:'rid', 4, '2030-11-09 19:00+00') as same \gset
select tests.lease_token(public.assignment_begin(:'same')) as lease_same \gset
select tests.add_table(:'rid', 'C3', 4) is not null as added \gset
set local role service_role;
select is(public.assignment_commit(:'same', :'lease_same', array[:'c2']::uuid[], 'scarcity_fit') ->> 'outcome',
  'confirmed', 'a plan that fits an unchanged booking is confirmed though the floor plan changed');
reset role;

-- A write that leaves the party as it was changes nothing.
select tests.create_booking(:'rid', 2, '2030-11-10 19:00+00') as kept \gset
select tests.lease_token(public.assignment_begin(:'kept')) as lease_kept \gset
set local role service_role;
update public.bookings set party_size = 2 where id = :'kept';
select is(public.assignment_commit(:'kept', :'lease_kept', array[:'t1']::uuid[], 'scarcity_fit') ->> 'outcome',
  'confirmed', 'a booking written back as it was is confirmed');
reset role;
select is((select count(*)::int from public.observability_events e
            where e.booking_id in (:'same', :'kept') and e.event_type = 'coordinator.commit_conflict'), 0,
  'and neither records a conflict');

-- A restaurant on the legacy path is answered alike: every lease keeps its digest, whatever the mode.
select tests.create_restaurant('Legacy') as legacy \gset
select tests.add_table(:'legacy', 'L1', 4) as l1 \gset
select ops.set_restaurant_mode(:'legacy', 'legacy', 'ana', 'a legacy restaurant') is not null as set_legacy \gset
select tests.create_booking(:'legacy', 4, '2030-11-11 19:00+00') as old_path \gset
select tests.lease_token(public.assignment_begin(:'old_path')) as lease_old \gset
set local role service_role;
update public.bookings set party_size = 2 where id = :'old_path';
select alike(public.assignment_commit(:'old_path', :'lease_old', array[:'l1']::uuid[], 'legacy') ->> 'reason',
  'rule_changed:%booking_changed%', 'a legacy restaurant''s booking changed while planned is planned again too');
reset role;

select * from finish();
rollback;
