-- A nudge pg_net would not take shows in health, and a URL pasted into Vault with a line break works
-- (20261227070000). pg_net (and the local stand-in, as it does) refuses a URL with whitespace in it.
begin;
select plan(9);

create function pg_temp.set_secret(p_name text, p_value text) returns void language sql as $$
  delete from vault.secrets where name = p_name;
  select vault.create_secret(p_value, p_name);
$$;
select pg_temp.set_secret('assignment_pipeline_secret', repeat('s', 32));

select throws_like($$select net.http_post('http://127.0.0.1:54321/functions/v1 /assignment-coordinator')$$,
  'invalid URL %', 'pg_net refuses a URL with a space in it');

-- Pasted with a line break after it: the nudge goes to the URL without it.
select pg_temp.set_secret('assignment_functions_url', E'http://127.0.0.1:54321/functions/v1/\n');
select private.post_to_function('assignment-coordinator', '{"trigger": "insert"}'::jsonb) as request \gset
select is((select url from net.http_request_queue where id = :request),
  'http://127.0.0.1:54321/functions/v1/assignment-coordinator',
  'a URL pasted into Vault with a line break is used without it');

-- So is the secret: the nudge is signed with the key the functions have.
select pg_temp.set_secret('assignment_pipeline_secret', repeat('s', 32) || E'\n');
select private.post_to_function('assignment-coordinator', '{"trigger": "insert"}'::jsonb) as signed \gset
select is((select headers ->> 'Authorization' from net.http_request_queue where id = :signed),
  (select 'Bearer ' || private.nudge_signature(repeat('s', 32), 'assignment-coordinator', '{"trigger": "insert"}'::jsonb,
                                              to_timestamp(split_part(headers ->> 'Authorization', '.', 2)::bigint))
     from net.http_request_queue where id = :signed),
  'a secret pasted into Vault with a line break signs as the functions'' secret does');

-- A space inside it: every nudge fails before pg_net takes it, and health says so.
select pg_temp.set_secret('assignment_functions_url', 'http://127.0.0.1:54321/functions v1');
select is(private.post_to_function('assignment-coordinator', '{"trigger": "insert"}'::jsonb), null,
  'a URL pg_net refuses queues nothing');
set local role service_role;
select cmp_ok((ops.health() -> 'dispatch' ->> 'not_sent_last_15_min')::int, '>=', 1,
  'health counts the nudges pg_net would not take');
select ok((ops.health() -> 'dispatch' ->> 'latest_not_sent_error') like 'invalid URL%',
  'with the latest error');
select ok(exists (select 1 from jsonb_array_elements_text(ops.health() -> 'problems') p
                   where p like 'nudges to the functions fail before pg_net takes them%check assignment_functions_url in Vault'),
  'and calls it a problem, saying where to look');
reset role;

-- A booking in review because the exact fallback's solver failed is a problem health names.
select tests.create_restaurant() as rid \gset
select tests.create_booking(:'rid', 4, '2030-07-03 19:00+00') as stranded \gset
select tests.force_state(:'stranded', 'manual_review', 'exact_search_budget_exhausted: no free table or combination seats a party of 4; the exact search over the 3 bookings that may still move stopped when the solver failed before finding the re-seating with the fewest moves or proving there is none');
set local role service_role;
select cmp_ok((ops.health() ->> 'exact_solver_failed')::int, '>=', 1, 'health counts bookings in review because the solver failed');
select ok(exists (select 1 from jsonb_array_elements_text(ops.health() -> 'problems') p
                   where p like 'the exact fallback''s solver failed for % bookings now in review%'),
  'and calls it a problem');
reset role;

select * from finish();
rollback;
