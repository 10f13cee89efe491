-- The coordinator takes its lease with assignment_lease and reads the snapshot with assignment_snapshot, in a
-- transaction of its own (20261216000000). The lease is assignment_begin's without the snapshot; the snapshot
-- is what begin would have returned, as the room stands when it is read, and only for the lease it names.
-- Called as service_role, as the coordinator's Data API client is. (That the read waits for no lock is the
-- integration test snapshot_outside_the_lock.test.ts: it needs two connections.)
begin;
select plan(16);

select tests.create_restaurant('Snapshot apart') as rid \gset
select tests.add_table(:'rid', 'P1', 2) as p1 \gset
select tests.add_table(:'rid', 'P2', 4) as p2 \gset
select tests.create_booking(:'rid', 2, '2031-03-04 19:00+00') as booking \gset
select tests.create_booking(:'rid', 2, '2031-03-04 19:00+00') as other \gset
select tests.create_booking(:'rid', 2, '2031-03-04 21:00+00') as third \gset

set local role service_role;
select throws_ok(format($$select public.assignment_lease(%L, 'Maria Garcia called')$$, :'booking'),
  'AS005', null, 'the lease''s trigger is a code, as begin''s is');
select throws_ok(format($$select public.assignment_lease(%L, 'dispatch', p_now => now() - interval '1 hour')$$,
  :'booking'), 'AS005', null, 'and the Data API cannot move its clock');

select public.assignment_lease(:'booking', 'dispatch') as leased \gset
select is((:'leased'::jsonb) ->> 'outcome', 'ready', 'the lease is taken');
select is((select array_agg(k order by k) from jsonb_object_keys(:'leased'::jsonb) k),
  array['attempt', 'lease_token', 'lock_wait_ms', 'mode', 'outcome', 'shadow_candidate', 'slot_wait_ms'],
  'and answered without a snapshot');
select is((select assignment_state from public.bookings where id = :'booking'), 'assignment_in_progress',
  'the booking is in progress under it');
reset role;
select is((select count(*)::int from private.planned_rules where booking_id = :'booking'
             and lease_token = ((:'leased'::jsonb) ->> 'lease_token')::uuid), 1,
  'and the rules it plans under are remembered with the lease, before any snapshot is read');

-- The other booking is seated on P1 after the lease and before the read: the read sees it.
select tests.force_state(:'other', 'confirmed');
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
select b.id, b.restaurant_id, :'p1', private.blocked_window(b), 'ops', 'tests' from public.bookings b where b.id = :'other';
set local role service_role;

select count(*) as events_before from public.observability_events where booking_id = :'booking' \gset
select public.assignment_snapshot(:'booking', ((:'leased'::jsonb) ->> 'lease_token')::uuid) as read \gset
select is((:'read'::jsonb) ->> 'outcome', 'ready', 'the lease''s holder reads its snapshot');
reset role;
select is((:'read'::jsonb) -> 'snapshot',
  (select private.assignment_snapshot(b, private.settings_for(b.restaurant_id)) from public.bookings b
    where b.id = :'booking'),
  'the snapshot begin builds');
select ok(((:'read'::jsonb) -> 'snapshot' -> 'busy') @> jsonb_build_array(jsonb_build_object('table_id', :'p1')),
  'as the room stands when it is read: P1, taken after the lease, is busy');
select is((select count(*) from public.observability_events where booking_id = :'booking'), :'events_before'::bigint,
  'reading it records nothing');
select is((select provolatile from pg_proc where oid = 'public.assignment_snapshot(uuid, uuid)'::regprocedure),
  's'::"char", 'and is declared stable, so PostgREST runs it in a read-only transaction');
set local role service_role;

select is(public.assignment_snapshot(:'booking', gen_random_uuid()), '{"outcome": "lease_lost"}'::jsonb,
  'another lease reads nothing');
select public.assignment_fail(:'booking', ((:'leased'::jsonb) ->> 'lease_token')::uuid, 'conflict', 'test over')
  as failed \gset
select is(public.assignment_snapshot(:'booking', ((:'leased'::jsonb) ->> 'lease_token')::uuid),
  '{"outcome": "lease_lost"}'::jsonb, 'nor does the lease''s own token once its attempt has ended');
select throws_ok(format($$select public.assignment_snapshot(%L, null)$$, :'booking'), 'AS005', null,
  'a lease must be named');
reset role;

-- Data API roles other than service_role may call neither.
select is((select count(*)::int from (values ('anon'), ('authenticated')) r(role),
                  (values ('public.assignment_lease(uuid, text, integer, text, timestamptz)'),
                          ('public.assignment_snapshot(uuid, uuid)')) f(fn)
            where has_function_privilege(r.role, f.fn, 'execute')), 0,
  'anon and authenticated may call neither');

-- assignment_begin still answers both in one transaction.
set local role service_role;
select public.assignment_begin(:'third', 'dispatch') as began \gset
reset role;
select is((:'began'::jsonb) -> 'snapshot',
  (select private.assignment_snapshot(b, private.settings_for(b.restaurant_id)) from public.bookings b
    where b.id = :'third'),
  'assignment_begin answers the lease with the same snapshot');

select * from finish();
rollback;
