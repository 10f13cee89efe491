
-- Getting bookings to the coordinator, and making sure none is ever left behind.
--   * On insert, a trigger marks the booking due and nudges the coordinator over pg_net (fast path).
--   * A changed confirmed booking releases its tables and is nudged again.
--   * pg_cron runs the sweeper: expired leases go back to the queue, due bookings are re-dispatched
--     with backoff, and a booking the coordinator never picks up is escalated to manual review.
-- The coordinator's URL and secret live in Vault:
--   select vault.create_secret('https://<ref>.supabase.co/functions/v1', 'assignment_functions_url');
--   select vault.create_secret('<secret>', 'assignment_pipeline_secret');

-- POST a JSON body to a pipeline function. Returns the pg_net request id, or null when nothing was sent:
-- the URL or secret is not configured, or pg_net / the Vault lookup failed. A failure never propagates —
-- this runs inside the guest's INSERT, which must not fail because a nudge could not be queued — but it
-- is recorded as a dispatch.failed event (the sweeper re-dispatches anything still due).
create function private.post_to_function(p_function text, p_body jsonb)
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
      headers := pg_catalog.jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || secret),
      timeout_milliseconds := timeout_ms);
  exception when others then
    get stacked diagnostics error_state = returned_sqlstate, error_message = message_text;
  end;
  -- Only the function, trigger, SQLSTATE and a scrubbed, shortened message: never the body or headers.
  perform private.record_event('assignment.dispatch', 'dispatch.failed', 'error',
    pg_catalog.jsonb_build_object('function', p_function, 'trigger', p_body ->> 'trigger', 'sqlstate', error_state,
                                  'error', pg_catalog.left(private.scrub_personal_data(error_message), 200)),
    (select b.restaurant_id from public.bookings b where b.id = booking), booking);
  return null;
end $$;

-- Whether the coordinator's URL and secret are in Vault (so dispatching can work at all).
create function private.dispatch_configured()
returns boolean language sql stable security definer set search_path = '' as $$
  select count(*) = 2 from vault.decrypted_secrets
   where name in ('assignment_functions_url', 'assignment_pipeline_secret') and decrypted_secret is not null;
$$;

create function private.dispatch_booking(p_booking_id uuid, p_trigger text)
returns bigint language sql security definer set search_path = '' as $$
  select private.post_to_function('assignment-coordinator',
                                  pg_catalog.jsonb_build_object('booking_id', p_booking_id, 'trigger', p_trigger));
$$;

-- How long after a nudge a booking is due: long enough for the coordinator to pick it up, short enough that
-- the sweeper soon dispatches it again when the nudge was lost (pg_net never retries).
create function private.nudge_grace()
returns interval language sql immutable set search_path = '' as $$
  select interval '10 seconds';
$$;

-- Dispatch a queued booking to the coordinator now, and make it due a moment later.
create function private.nudge(p_booking_id uuid, p_trigger text)
returns void language plpgsql set search_path = '' as $$
begin
  update public.bookings set next_attempt_at = pg_catalog.now() + private.nudge_grace() where id = p_booking_id;
  perform private.dispatch_booking(p_booking_id, p_trigger);
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
