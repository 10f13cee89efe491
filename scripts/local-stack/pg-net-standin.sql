-- Local stand-in for pg_net, used only when the real extension is not available. Applied at every start of
-- the local database (scripts/db), so a database made before a change to it gets the change.
-- It mirrors pg_net 0.20's SQL interface: the `net.http_*` functions queue a row in the UNLOGGED
-- `net.http_request_queue` and return its id; responses land in UNLOGGED `net._http_response`.
-- Like pg_net, nothing is sent before COMMIT: `net.wake()` uses NOTIFY, which Postgres delivers only
-- when the transaction commits. The delivery worker is scripts/local-stack/pg-net-worker.ts.
-- Its privileges are pg_net's, not tighter ones: see the grants at the end.
create schema if not exists net;

do $$
begin
  if to_regtype('net.http_method') is null then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
  end if;
end $$;

-- headers may be NULL: the request is then sent with no header of its own, as pg_net does.
create unlogged table if not exists net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

create or replace function net.wake() returns void language sql as $$
  select pg_notify('pg_net_standin_wake', '');
$$;

-- Percent-encodes every byte but ALPHA / DIGIT / "-" / "." / "_" / "~", as curl_easy_escape does.
create or replace function net._urlencode_string(string varchar) returns text
language sql immutable strict as $$
  select coalesce(string_agg(
           case when chr(b) ~ '^[A-Za-z0-9._~-]$' then chr(b) else '%' || upper(lpad(to_hex(b), 2, '0')) end,
           '' order by i), '')
    from (select convert_to(string, 'UTF8') as bytes) s,
         generate_series(0, length(s.bytes) - 1) i,
         get_byte(s.bytes, i) b;
$$;

-- Appends already-encoded `key=value` pairs to the URL's query, skipping NULLs, as curl_url does. Like
-- pg_net, which parses the URL with curl_url_set (no flags) here, it refuses a URL with whitespace or a
-- control character anywhere in it (a line break pasted with it, say) or without a scheme, with pg_net's
-- message: the worker's URL parser would otherwise trim or encode what hosted pg_net never queues.
create or replace function net._encode_url_with_params_array(url text, params_array text[]) returns text
language plpgsql immutable strict as $$
begin
  if url ~ '[[:space:][:cntrl:]]' then
    raise exception 'invalid URL "%": Malformed input to a URL function', url;
  end if;
  if url !~ '^[A-Za-z][A-Za-z0-9+.-]*://' then
    raise exception 'invalid URL "%": Bad scheme', url;
  end if;
  return url || coalesce((select case when strpos(url, '?') > 0 then '&' else '?' end
                                 || string_agg(p, '&' order by i)
                            from unnest(params_array) with ordinality as a(p, i)
                           where p is not null), '');
end $$;

create or replace function net._params_array(params jsonb) returns text[]
language sql immutable as $$
  select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    from jsonb_each_text(params);
$$;

create or replace function net.http_get(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
declare request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, net._params_array(params)), headers, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end $$;

create or replace function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
declare
  request_id bigint;
  content_type text;
begin
  -- pg_net only posts JSON. It looks the header up case-insensitively, adds it when missing (NULL
  -- headers stay NULL, as `NULL || jsonb` is NULL there too) and rejects any other value.
  select h.value into content_type
    from jsonb_each_text(coalesce(headers, '{}'::jsonb)) h
   where lower(h.key) = 'content-type'
   limit 1;
  if content_type is null then
    headers := headers || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array(url, net._params_array(params)), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end $$;

create or replace function net.http_delete(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000, body jsonb default null
) returns bigint language plpgsql as $$
declare request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array(url, net._params_array(params)), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end $$;

-- The worker is up when its connection (named below) is listening.
create or replace function net.check_worker_is_up() returns void language plpgsql as $$
begin
  if not exists (select 1 from pg_stat_activity where application_name = 'pg_net_standin_worker') then
    raise exception using
      message = 'the pg_net background worker is not up',
      detail = 'the pg_net background worker is down due to an internal error and cannot process requests',
      hint = 'make sure that you didn''t modify any of pg_net internal tables';
  end if;
end $$;

-- pg_net's worker_restart: the worker is asked to restart, which it does between batches, never during one
-- (the stand-in's process drops its connections and comes back on new ones a second later, as the postmaster
-- restarts pg_net's worker); true, as pg_net's answers its configuration reload. Unlike pg_net's, the ask is a
-- NOTIFY, so it is heard only once the caller's transaction commits.
create or replace function net.worker_restart() returns bool language sql as $$
  select pg_notify('pg_net_standin_wake', 'restart');
  select true;
$$;

-- pg_net 0.20's grants, which hosted projects cannot change (supabase_admin owns `net`): every role may
-- use the schema, run its functions (Postgres' default for functions, restated because this project's
-- migrations revoke that default for the functions `postgres` creates) and read or write its tables.
grant usage on schema net to public;
grant all on all sequences in schema net to public;
grant all on all tables in schema net to public;
grant execute on all functions in schema net to public;
