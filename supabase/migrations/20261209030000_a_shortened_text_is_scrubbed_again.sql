-- A text shortened for storage is scrubbed again after the cut, so a cut cannot make personal data of what
-- was none.
--
-- Scrubbing finds a phone number as 8 or more digits standing alone. A cut can make one: "see build
-- 20261202T153000Z" is clean, but cut after "20261202" it ends in eight digits standing alone. Three places
-- scrubbed and then cut, and stored the result where a personal-data check refuses it:
--   * private.act_as, for a settings call's reason. With the kill switch on, its reason is part of every
--     booking's mode reason, which the coordinator.start event carries: one reason of 500 characters or more
--     cut that way made every assignment_begin fail its event's check, and no booking was assigned until
--     the switch was changed;
--   * private.post_to_function, for a failed dispatch's error, written into an event by the booking insert's
--     own trigger, so a booking insert would fail with it;
--   * the coordinator's reasons (shared/telemetry/personal-data.ts scrubAndCut now does the same).
-- private.scrub_and_cut (20261209010000) cuts before the word that would be split and scrubs again, until the
-- text fits.

-- Body as in 20261202300000, with the reason cut by private.scrub_and_cut.
create or replace function private.act_as(p_actor text, p_reason text default null)
returns text language plpgsql set search_path = '' as $$
declare
  actor text := private.scrub_personal_data(pg_catalog.btrim(p_actor));
begin
  if coalesce(actor, '') = '' then
    raise exception using errcode = 'AS005', message = 'say who is acting: pass p_actor (a name or ticket, not a guest''s data)';
  end if;
  perform pg_catalog.set_config('pipeline.actor', pg_catalog.statement_timestamp()::text || '|' || actor, true);
  perform pg_catalog.set_config('pipeline.reason', coalesce(private.scrub_and_cut(p_reason, 500), ''), true);
  return actor;
end $$;

-- Body as in 20261201101500, with the error cut by private.scrub_and_cut.
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
      headers := pg_catalog.jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || secret),
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

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
