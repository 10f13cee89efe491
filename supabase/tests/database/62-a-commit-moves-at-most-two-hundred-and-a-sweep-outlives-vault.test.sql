begin;
select plan(8);

-- Two moves onto one table at the same time are found before anything moves: a re-plan on a fresh snapshot.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
select ops.set_reoptimization(true, 'ana', :'rid');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as x \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as y \gset
select public.assignment_begin(:'x') as lx \gset
select public.assignment_commit(:'x', (:'lx'::jsonb ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'test');
select public.assignment_begin(:'y') as ly \gset
select public.assignment_commit(:'y', (:'ly'::jsonb ->> 'lease_token')::uuid, array[:'t2']::uuid[], 'test');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as n \gset
select public.assignment_begin(:'n') as ln \gset
set local role service_role;
select public.assignment_commit(:'n', (:'ln'::jsonb ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'test',
    p_moves => jsonb_build_array(
      jsonb_build_object('booking_id', :'x', 'from_table_ids', array[:'t1'], 'to_table_ids', array[:'t3']),
      jsonb_build_object('booking_id', :'y', 'from_table_ids', array[:'t2'], 'to_table_ids', array[:'t3']))) as clash \gset
reset role;
select is((:'clash'::jsonb ->> 'outcome', :'clash'::jsonb ->> 'reason', :'clash'::jsonb ? 'snapshot'),
  ('conflict'::text, 'two of its moves need the same table at the same time'::text, true),
  'two moves onto one table at once are a conflict, with a fresh snapshot to re-plan on');
select is((select array_agg(a.table_id order by a.booking_id = :'y') from public.booking_table_assignments a
            where a.booking_id in (:'x', :'y') and a.released_at is null), array[:'t1', :'t2']::uuid[],
  'and nobody moved (x still on T1, y on T2)');
-- The same moves a table apart are a plan.
select tests.add_table(:'rid', 'T4', 4) as t4 \gset
set local role service_role;
select is((public.assignment_commit(:'n', (:'ln'::jsonb ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'test',
    p_moves => jsonb_build_array(
      jsonb_build_object('booking_id', :'x', 'from_table_ids', array[:'t1'], 'to_table_ids', array[:'t3']),
      jsonb_build_object('booking_id', :'y', 'from_table_ids', array[:'t2'], 'to_table_ids', array[:'t4'])))) ->> 'outcome',
  'confirmed', 'the same moves onto different tables commit');
reset role;

-- One commit moves at most 200 bookings.
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as big \gset
select public.assignment_begin(:'big') as lb \gset
set local role service_role;
select throws_ok(format($$ select public.assignment_commit(%L, %L, array[%L]::uuid[], 'test', p_moves => %L) $$,
    :'big', (:'lb'::jsonb ->> 'lease_token'), :'t1',
    (select jsonb_agg(jsonb_build_object('booking_id', gen_random_uuid(), 'from_table_ids', array[:'t2'],
                                         'to_table_ids', array[:'t3'])) from generate_series(1, 201))),
  'AS005', 'one commit moves at most 200 bookings, not 201', 'a list of 201 moves is refused');
reset role;

-- A sweep goes on when Vault cannot be read: unreadable secrets count as not configured.
select tests.create_booking(:'rid', 2, '2030-01-09 19:00+00') as leased \gset
select public.assignment_begin(:'leased') as ll \gset
alter view vault.decrypted_secrets rename to decrypted_secrets_hidden;
select is(private.dispatch_configured(), false, 'unreadable secrets are not a configured dispatch');
select tests.create_booking(:'rid', 2, '2030-01-10 19:00+00') as due \gset
select private.sweep(now() + interval '1 minute') as swept \gset
select is((select assignment_state from public.bookings where id = :'leased'), 'assignment_pending',
  'the sweep runs and takes back an expired lease');
select ok((:'swept'::jsonb ->> 'dispatched')::int = 0 and (:'swept'::jsonb ->> 'not_dispatched')::int >= 1,
  'dispatches nothing, the due booking included');
select ok(exists (select 1 from public.observability_events where event_type = 'dispatch.not_configured'
                   and created_at = now() + interval '1 minute'), 'and records that dispatch is not configured');
alter view vault.decrypted_secrets_hidden rename to decrypted_secrets;

select * from finish();
rollback;
