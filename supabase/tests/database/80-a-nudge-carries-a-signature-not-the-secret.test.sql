-- A nudge carries a signature of its body, not the pipeline secret (20261227050000). The stack has configured
-- Vault; a booking is inserted as the platform inserts it, through service_role.
begin;
select plan(5);

select decrypted_secret as secret from vault.decrypted_secrets where name = 'assignment_pipeline_secret' \gset
select tests.create_restaurant('Signed') as rid \gset
select tests.add_table(:'rid', 'T1', 4) \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at) values (:'rid', 2, '2030-06-03 19:00+00')
returning id as bid \gset
reset role;

select q.headers ->> 'Authorization' as authorization, pg_catalog.convert_from(q.body, 'UTF8') as body
  from net.http_request_queue q where pg_catalog.convert_from(q.body, 'UTF8') like '%' || :'bid' || '%' \gset

select ok(position(:'secret' in :'authorization') = 0, 'the queued nudge does not carry the secret');
select ok(:'authorization' ~ '^Bearer v1\.\d+\.[0-9a-f]{64}$', 'it carries a signature: a time and a MAC');
select is(split_part(:'authorization', '.', 3),
          encode(extensions.hmac(split_part(split_part(:'authorization', ' ', 2), '.', 2) || '.assignment-coordinator.'
                                 || :'body', :'secret', 'sha256'), 'hex'),
  'an HMAC-SHA256 with the secret of its time, the function and the exact body pg_net sends');
select ok(abs(split_part(split_part(:'authorization', ' ', 2), '.', 2)::bigint - extract(epoch from clock_timestamp())) < 60,
  'made now');
select is(private.nudge_signature('a-pipeline-secret-of-some-length', 'assignment-coordinator',
            '{"trigger": "insert", "booking_id": "20000000-0000-4000-8000-000000000001"}', to_timestamp(1900000000)),
  'v1.1900000000.2118002e26f0037fcfc707fb6428cd2d7532430285f3136b10f3d3f5ea6682a9',
  'the vector the functions check against (shared/http/secret.test.ts)');

select * from finish();
rollback;
