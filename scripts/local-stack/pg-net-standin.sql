-- Local stand-in for pg_net, used only when the real extension is not available.
-- It mirrors pg_net 0.20's SQL interface: the `net.http_*` functions queue a row in the UNLOGGED
-- `net.http_request_queue` and return its id; responses land in UNLOGGED `net._http_response`.
-- Like pg_net, nothing is sent before COMMIT: `net.wake()` uses NOTIFY, which Postgres delivers only
-- when the transaction commits. The delivery worker is scripts/local-stack/pg-net-worker.ts.
create schema net;
grant usage on schema net to postgres, service_role;

create domain net.http_method as text check (value in ('GET', 'POST', 'DELETE'));

create unlogged table net.http_request_queue (
  id bigserial not null,
  method net.http_method not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index _http_response_created_idx on net._http_response (created);

create function net.wake() returns void language sql as $$
  select pg_notify('pg_net_standin_wake', '');
$$;

-- Query parameters are appended to the URL, as pg_net does before handing it to curl.
create function net._url_with_params(url text, params jsonb) returns text
language sql immutable as $$
  select case when params is null or params = '{}'::jsonb then url
    else url || case when strpos(url, '?') > 0 then '&' else '?' end ||
      (select string_agg(key || '=' || value, '&' order by key) from jsonb_each_text(params))
  end;
$$;

create function net.http_get(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
declare request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._url_with_params(url, params), headers, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end $$;

create function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
declare request_id bigint;
begin
  -- pg_net only posts JSON: it adds the header when missing and rejects any other type.
  if headers is null or not headers ? 'Content-Type' then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  end if;
  if headers ->> 'Content-Type' <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._url_with_params(url, params), headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end $$;

create function net.http_delete(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000, body jsonb default null
) returns bigint language plpgsql as $$
declare request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._url_with_params(url, params), headers,
          case when body is null then null else convert_to(body::text, 'UTF8') end, timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end $$;

-- The worker is up when its connection (named below) is listening.
create function net.check_worker_is_up() returns void language plpgsql as $$
begin
  if not exists (select 1 from pg_stat_activity where application_name = 'pg_net_standin_worker') then
    raise exception 'the pg_net background worker is not up';
  end if;
end $$;

grant select, insert, update, delete on all tables in schema net to postgres, service_role;
grant usage on all sequences in schema net to postgres, service_role;
revoke execute on all functions in schema net from public;
grant execute on all functions in schema net to postgres, service_role;
