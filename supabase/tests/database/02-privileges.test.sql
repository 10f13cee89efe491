begin;
select plan(41);

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

-- The pipeline restricts only what it creates. In its own schemas, objects created from now on start closed
-- to the API roles; in `public`, which the project's app shares, a table, sequence or function the app
-- creates after the migrations keeps exactly the grants Supabase gives it.
create table public.probe_table (id bigint generated always as identity primary key);
create table private.probe_table (id bigint generated always as identity primary key);
create table ops.probe_table (id bigint generated always as identity primary key);
create function public.probe_function() returns integer language sql as 'select 1';
create function private.probe_function() returns integer language sql as 'select 1';
create function ops.probe_function() returns integer language sql as 'select 1';
select is(
  (select count(*)::int from pg_class c, unnest(array['anon', 'authenticated']) r(role)
    where c.relname in ('probe_table', 'probe_table_id_seq') and c.relkind in ('r', 'S')
      and c.relnamespace in ('private'::regnamespace, 'ops'::regnamespace)
      and ((c.relkind = 'r' and (has_table_privilege(r.role, c.oid, 'SELECT') or has_table_privilege(r.role, c.oid, 'INSERT')
                                 or has_table_privilege(r.role, c.oid, 'UPDATE') or has_table_privilege(r.role, c.oid, 'DELETE')
                                 or has_table_privilege(r.role, c.oid, 'TRUNCATE')))
        or (c.relkind = 'S' and (has_sequence_privilege(r.role, c.oid, 'USAGE') or has_sequence_privilege(r.role, c.oid, 'UPDATE'))))),
  0, 'a new table or sequence in private or ops grants anon and authenticated nothing');
select is(
  (select count(*)::int from pg_proc p, unnest(array['anon', 'authenticated']) r(role)
    where p.proname = 'probe_function' and p.pronamespace in ('private'::regnamespace, 'ops'::regnamespace)
      and has_schema_privilege(r.role, p.pronamespace, 'USAGE') and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  0, 'a new function in private or ops cannot be called by anon or authenticated');
select is(
  (select array_agg(format('%s %s', r.role, priv) order by r.role, priv)
     from unnest(array['anon', 'authenticated', 'service_role']) r(role),
          unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) priv
    where has_table_privilege(r.role, 'public.probe_table', priv)),
  (select array_agg(format('%s %s', r.role, priv) order by r.role, priv)
     from unnest(array['anon', 'authenticated', 'service_role']) r(role),
          unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) priv),
  'a table the app creates in public afterwards keeps every grant Supabase gives the API roles');
select ok((select bool_and(has_sequence_privilege(r.role, 'public.probe_table_id_seq', 'USAGE')
                           and has_function_privilege(r.role, 'public.probe_function()', 'EXECUTE'))
             from unnest(array['anon', 'authenticated', 'service_role']) r(role)),
  'and so do its sequences and the functions it creates there');
select ok(not exists (select 1 from pg_default_acl d, aclexplode(d.defaclacl) a
                       where d.defaclrole = 'postgres'::regrole
                         and d.defaclnamespace in ('private'::regnamespace, 'ops'::regnamespace)
                         and a.grantee in ('anon'::regrole, 'authenticated'::regrole)),
  'no default privilege of the migrating role in private or ops names anon or authenticated');
select is((select count(*)::int from pg_default_acl d where d.defaclnamespace = 0 and d.defaclrole = 'postgres'::regrole),
  0, 'the pipeline changes no default privilege outside its own schemas');
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

-- pg_net's own grants, as hosted Supabase has them and no project can change (supabase_admin owns `net`):
-- every role may use the schema, call net.http_*, and read and write the queue and the responses. These
-- tests state that exposure so that a stand-in which stopped matching pg_net fails here.
select ok(has_schema_privilege('anon', 'net', 'USAGE') and has_schema_privilege('authenticated', 'net', 'USAGE'),
  'pg_net: anon and authenticated may use the net schema');
select ok(has_function_privilege('anon', 'net.http_post(text, jsonb, jsonb, jsonb, integer)', 'EXECUTE')
          and has_function_privilege('authenticated', 'net.http_get(text, jsonb, jsonb, integer)', 'EXECUTE'),
  'pg_net: anon and authenticated may call net.http_post and net.http_get');
select ok(has_table_privilege('anon', 'net.http_request_queue', 'SELECT, INSERT, UPDATE, DELETE')
          and has_table_privilege('authenticated', 'net._http_response', 'SELECT, INSERT, UPDATE, DELETE'),
  'pg_net: anon and authenticated may read and write the request queue and the responses');
select net.http_post('http://127.0.0.1:9/probe', headers => '{"Authorization": "Bearer probe-secret"}') as probe_request \gset
set local role anon;
select is((select headers ->> 'Authorization' from net.http_request_queue where id = :probe_request), 'Bearer probe-secret',
  'so anon can read a queued request''s Authorization header, which is why a nudge carries a signature, not the secret (80)');
reset role;

-- What the project controls: the secret is readable only through the queue, never from Vault, and nothing
-- anon or authenticated can call puts a request with it on the queue.
set local role anon;
select throws_ok('select decrypted_secret from vault.decrypted_secrets', '42501', null, 'anon cannot read Vault secrets');
select throws_ok('select secret from vault.secrets', '42501', null, 'nor Vault''s table');
reset role;
set local role authenticated;
select throws_ok('select decrypted_secret from vault.decrypted_secrets', '42501', null, 'authenticated cannot read Vault secrets');
reset role;
select ok(not has_function_privilege('anon', 'vault.create_secret(text, text, text, uuid)', 'EXECUTE')
          and not has_function_privilege('authenticated', 'vault.update_secret(uuid, text, text, text, uuid)', 'EXECUTE'),
  'anon and authenticated cannot create or replace Vault secrets');
-- As hosted Vault (the local stand-in matches it): service_role may read and delete secrets, and a secret's
-- description is stored as given, so an explicit null fails.
select ok(has_table_privilege('service_role', 'vault.decrypted_secrets', 'SELECT')
          and has_table_privilege('service_role', 'vault.decrypted_secrets', 'DELETE')
          and has_table_privilege('service_role', 'vault.secrets', 'SELECT')
          and has_table_privilege('service_role', 'vault.secrets', 'DELETE'),
  'service_role may read and delete Vault secrets, as on hosted Supabase');
select throws_ok($$select vault.create_secret('x', 'tests.null_description', null)$$, '23502', null,
  'a secret''s description cannot be null');
select is((select string_agg(p.oid::regprocedure::text, ', ') from pg_proc p, unnest(array['anon', 'authenticated']) r(role)
            where p.pronamespace = 'private'::regnamespace
              and p.proname in ('post_to_function', 'dispatch_booking', 'dispatch_configured')
              and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  null, 'anon and authenticated cannot call the functions that read the secret and queue requests with it');
set local role anon;
select throws_ok(format('select private.dispatch_booking(%L, %L)', :'bid', 'forged'), '42501', null,
  'anon cannot make the pipeline send a request');
reset role;
set local role authenticated;
select throws_ok('select count(*) from private.pipeline_settings', '42501', null,
  'authenticated cannot read the pipeline''s settings');
select throws_ok(format('select private.dispatch_booking(%L, %L)', :'bid', 'forged'), '42501', null,
  'authenticated cannot make the pipeline send a request');
reset role;

select * from finish();
rollback;
