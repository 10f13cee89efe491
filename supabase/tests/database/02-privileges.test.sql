begin;
select plan(24);

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
select is(
  (select string_agg(c.oid::regclass::text || ' to ' || r.role, ', ') from pg_class c, unnest(array['anon', 'authenticated']) r(role)
    where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace, 'ops'::regnamespace)
      and c.relkind = 'S'
      and (has_sequence_privilege(r.role, c.oid, 'USAGE') or has_sequence_privilege(r.role, c.oid, 'SELECT')
           or has_sequence_privilege(r.role, c.oid, 'UPDATE'))),
  null, 'anon and authenticated hold no privilege on any sequence of ours (identity sequences included)');

-- Objects created from now on start closed too: the migrations revoke the API roles' default privileges.
create table public.probe_table (id bigint generated always as identity primary key);
create table private.probe_table (id bigint generated always as identity primary key);
create table ops.probe_table (id bigint generated always as identity primary key);
create function public.probe_function() returns integer language sql as 'select 1';
create function private.probe_function() returns integer language sql as 'select 1';
create function ops.probe_function() returns integer language sql as 'select 1';
select is(
  (select count(*)::int from pg_class c, unnest(array['anon', 'authenticated']) r(role)
    where c.relname in ('probe_table', 'probe_table_id_seq') and c.relkind in ('r', 'S')
      and ((c.relkind = 'r' and (has_table_privilege(r.role, c.oid, 'SELECT') or has_table_privilege(r.role, c.oid, 'INSERT')
                                 or has_table_privilege(r.role, c.oid, 'UPDATE') or has_table_privilege(r.role, c.oid, 'DELETE')
                                 or has_table_privilege(r.role, c.oid, 'TRUNCATE')))
        or (c.relkind = 'S' and (has_sequence_privilege(r.role, c.oid, 'USAGE') or has_sequence_privilege(r.role, c.oid, 'UPDATE'))))),
  0, 'a new table or sequence in public, private or ops grants anon and authenticated nothing');
select is(
  (select count(*)::int from pg_proc p, unnest(array['anon', 'authenticated']) r(role)
    where p.proname = 'probe_function' and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  0, 'a new function in public, private or ops is not executable by anon or authenticated (not even through PUBLIC)');
select ok(not exists (select 1 from pg_default_acl d, aclexplode(d.defaclacl) a
                       where d.defaclrole = 'postgres'::regrole
                         and d.defaclnamespace in ('public'::regnamespace, 'private'::regnamespace, 'ops'::regnamespace)
                         and a.grantee in ('anon'::regrole, 'authenticated'::regrole)),
  'no default privilege of the migrating role names anon or authenticated');
drop table public.probe_table, private.probe_table, ops.probe_table;
drop function public.probe_function(), private.probe_function(), ops.probe_function();

select ok(not has_schema_privilege('anon', 'private', 'USAGE'), 'anon cannot use the private schema');
select ok(not has_schema_privilege('authenticated', 'private', 'USAGE'), 'authenticated cannot use the private schema');
select ok(not has_schema_privilege('anon', 'ops', 'USAGE') and not has_schema_privilege('authenticated', 'ops', 'USAGE'),
  'nor the ops schema');
select ok(not has_schema_privilege('anon', 'tests', 'USAGE') and not has_schema_privilege('authenticated', 'tests', 'USAGE'),
  'nor the test fixtures');
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
select lives_ok($$insert into public.restaurants (name, timezone) values ('Granted', 'Europe/London')$$,
  'service_role may add a restaurant (its constraints'' helpers are callable)');
select lives_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 2, '2030-01-07 19:00+00')$$, :'rid'),
  'and a booking (its reference default too)');
select throws_ok($$insert into public.observability_events (source, event_type) values ('forged', 'forged')$$,
  '42501', null, 'but cannot write events');
select lives_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'bid', 'capacity_verified'),
  'service_role moves a booking through the RPC');
reset role;

select * from finish();
rollback;
