-- A nudge carries a signature of its body, not the pipeline secret.
--
-- pg_net's grants, which no project can change, let every role read net.http_request_queue, and a queued nudge
-- carried "Authorization: Bearer <pipeline secret>" until pg_net sent it: any SQL an API role could run would
-- read the secret there and could then call both functions at will (docs/configuration.md said so). A nudge
-- now carries v1.<unix seconds>.<hex HMAC-SHA256 of "<seconds>.<function>.<body>"> made with the secret
-- (private.nudge_signature, with pgcrypto's hmac), over the exact bytes pg_net sends (the body's jsonb text).
-- The functions accept it for that function and body within 5 minutes of its time either way
-- (shared/http/secret.ts), so what can be read in the queue is good for re-sending that same nudge, for a few
-- minutes, which only makes the pipeline look at that booking again; direct callers still send the secret
-- itself. A secret read from the queue before this change still works until it is rotated: rotate it once
-- after upgrading (docs/configuration.md).
-- private.post_to_function: body as in 20261209030000, with the signature.

-- Supabase keeps pgcrypto in the extensions schema; a project that has it elsewhere is told so here, at the
-- push, rather than finding every nudge failing afterwards.
create extension if not exists pgcrypto with schema extensions;
do $$
begin
  if pg_catalog.to_regprocedure('extensions.hmac(text, text, text)') is null then
    raise exception using
      message = 'pgcrypto is installed outside the extensions schema; the pipeline signs its nudges with extensions.hmac',
      hint = 'alter extension pgcrypto set schema extensions';
  end if;
end $$;

-- What a nudge's Authorization header carries: its time and an HMAC-SHA256 with the secret of
-- "<time>.<function>.<body>", so it is good for that function and body only.
create function private.nudge_signature(p_secret text, p_function text, p_body jsonb,
                                        p_at timestamptz default pg_catalog.clock_timestamp())
returns text language sql stable set search_path = '' as $$
  select 'v1.' || x.seconds || '.'
         || pg_catalog.encode(extensions.hmac(x.seconds || '.' || p_function || '.' || p_body::text, p_secret, 'sha256'), 'hex')
    from (select pg_catalog.floor(extract(epoch from p_at))::bigint::text as seconds) x;
$$;
comment on function private.nudge_signature(text, text, jsonb, timestamptz) is
  'The Authorization token of a nudge: v1.<unix seconds>.<hex HMAC-SHA256 of "<seconds>.<function>.<body jsonb text>"> with the pipeline secret, which the functions check (shared/http/secret.ts).';

create or replace function private.post_to_function(p_function text, p_body jsonb)
returns bigint language plpgsql security definer set search_path = '' as $$
declare
  base_url text;
  secret text;
  timeout_ms integer;
  booking uuid := (p_body ->> 'booking_id')::uuid;
  error_state text;
  error_message text;
begin
  begin
    select decrypted_secret into base_url from vault.decrypted_secrets where name = 'assignment_functions_url';
    select decrypted_secret into secret from vault.decrypted_secrets where name = 'assignment_pipeline_secret';
    if base_url is null or secret is null then
      return null;
    end if;
    timeout_ms := (private.settings_for(null)).dispatch_timeout_ms;
    return net.http_post(
      url := pg_catalog.rtrim(base_url, '/') || '/' || p_function,
      body := p_body,
      headers := pg_catalog.jsonb_build_object('Content-Type', 'application/json',
                                               'Authorization', 'Bearer ' || private.nudge_signature(secret, p_function, p_body)),
      timeout_milliseconds := timeout_ms);
  exception when others then
    get stacked diagnostics error_state = returned_sqlstate, error_message = message_text;
  end;
  -- Only the function, trigger, SQLSTATE and a scrubbed, shortened message: never the body or headers.
  perform private.record_event('assignment.dispatch', 'dispatch.failed', 'error',
    pg_catalog.jsonb_build_object('function', p_function, 'trigger', p_body ->> 'trigger', 'sqlstate', error_state,
                                  'error', private.scrub_and_cut(error_message, 200)),
    (select b.restaurant_id from public.bookings b where b.id = booking), booking);
  return null;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
