begin;
select plan(16);

-- The Data API roles get nothing: no table privilege, no function, no private schema.
select is(
  (select count(*)::int from pg_class c, unnest(array['anon', 'authenticated']) r(role)
    where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace, 'ops'::regnamespace)
      and c.relkind in ('r', 'v', 'm', 'p')
      and (has_table_privilege(r.role, c.oid, 'SELECT') or has_table_privilege(r.role, c.oid, 'INSERT')
           or has_table_privilege(r.role, c.oid, 'UPDATE') or has_table_privilege(r.role, c.oid, 'DELETE'))),
  0, 'anon and authenticated hold no privilege on any table or view of ours');
select is(
  (select string_agg(p.oid::regprocedure::text, ', ') from pg_proc p, unnest(array['anon', 'authenticated']) r(role)
    where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace, 'ops'::regnamespace)
      and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  null, 'anon and authenticated can execute none of our functions');
select ok(not has_schema_privilege('anon', 'private', 'USAGE'), 'anon cannot use the private schema');
select ok(not has_schema_privilege('authenticated', 'private', 'USAGE'), 'authenticated cannot use the private schema');
select ok(not has_schema_privilege('anon', 'ops', 'USAGE') and not has_schema_privilege('authenticated', 'ops', 'USAGE'),
  'nor the ops schema');
select is((select count(*)::int from pg_proc p where p.pronamespace = 'ops'::regnamespace
            and not has_function_privilege('service_role', p.oid, 'EXECUTE')), 0,
  'service_role can call every ops function');

select ok(has_function_privilege('service_role', 'public.transition_assignment_state(uuid, text, integer, text, jsonb, text)', 'EXECUTE'),
  'service_role may call transition_assignment_state');
select ok(has_function_privilege('service_role', 'public.cancel_booking(uuid, text, text)', 'EXECUTE'),
  'service_role may call cancel_booking');
select ok(has_table_privilege('service_role', 'public.bookings', 'INSERT'), 'service_role may insert bookings');
select ok(not has_table_privilege('service_role', 'public.booking_table_assignments', 'INSERT'),
  'service_role cannot write assignments except through the RPCs');

-- And the same, observed by acting as those roles.
select tests.create_restaurant() as rid \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as bid \gset

set local role anon;
select throws_ok('select count(*) from public.bookings', '42501', null, 'anon cannot read bookings');
select throws_ok(format('select public.cancel_booking(%L)', :'bid'), '42501', null, 'anon cannot cancel a booking');
reset role;

set local role authenticated;
select throws_ok('select count(*) from public.observability_events', '42501', null, 'authenticated cannot read events');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'bid', 'capacity_verified'),
  '42501', null, 'authenticated cannot move a booking');
reset role;

set local role service_role;
select is((select count(*)::int from public.bookings where id = :'bid'), 1, 'service_role reads bookings');
select lives_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'bid', 'capacity_verified'),
  'service_role moves a booking through the RPC');
reset role;

select * from finish();
rollback;
