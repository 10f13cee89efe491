-- The net.http_* interface as pg_net 0.20 behaves, so the local stand-in is held to the real extension:
-- the pipeline's SQL must meet exactly what it meets on hosted Supabase.
begin;
select plan(8);

select col_is_null('net', 'http_request_queue', 'headers', 'the queue accepts a request without headers');

select throws_ok($$select net.http_post('http://127.0.0.1:9/x', headers => '{"content-type": "text/plain"}')$$,
  'P0001', 'Content-Type header must be "application/json"',
  'http_post finds a non-JSON content type whatever the header''s case, and refuses it');
select throws_ok($$select net.http_post('http://127.0.0.1:9/x', headers => '{"Content-Type": "application/json; charset=utf-8"}')$$,
  'P0001', 'Content-Type header must be "application/json"',
  'and accepts exactly application/json, as pg_net does');

select net.http_post('http://127.0.0.1:9/x', headers => '{"content-type": "application/json", "X-Probe": "1"}') as lower_request \gset
select is((select headers from net.http_request_queue where id = :lower_request),
  '{"content-type": "application/json", "X-Probe": "1"}'::jsonb,
  'a lowercase content-type: application/json is kept as given, with no second Content-Type added');

select net.http_post('http://127.0.0.1:9/x', headers => '{"X-Probe": "1"}') as added_request \gset
select is((select headers from net.http_request_queue where id = :added_request),
  '{"Content-Type": "application/json", "X-Probe": "1"}'::jsonb,
  'http_post adds Content-Type: application/json when the headers have none');

select net.http_post('http://127.0.0.1:9/x', headers => null) as null_request \gset
select ok((select headers is null from net.http_request_queue where id = :null_request),
  'NULL headers stay NULL (pg_net''s `headers || ...` is NULL too)');

select net.http_get('http://127.0.0.1:9/x', params => '{"q": "a b&c", "n": null}') as get_request \gset
select is((select url from net.http_request_queue where id = :get_request), 'http://127.0.0.1:9/x?q=a%20b%26c',
  'query parameters are percent-encoded and appended; a null value is left out');

select net.http_delete('http://127.0.0.1:9/x?v=1', params => '{"k": "é"}') as delete_request \gset
select is((select url || ' ' || method || ' ' || coalesce(body::text, 'no body') from net.http_request_queue where id = :delete_request),
  'http://127.0.0.1:9/x?v=1&k=%C3%A9 DELETE no body', 'http_delete appends to an existing query and sends no body by default');

select * from finish();
rollback;
