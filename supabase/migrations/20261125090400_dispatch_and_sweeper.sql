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
    select s.dispatch_timeout_ms into timeout_ms from private.pipeline_settings s;
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

-- Due in a few seconds: if the nudge below is lost, the sweeper dispatches it then.
create function private.mark_new_booking_due()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.next_attempt_at := pg_catalog.now() + interval '10 seconds';
  return new;
end $$;
create trigger mark_new_booking_due before insert on public.bookings
  for each row execute function private.mark_new_booking_due();

create function private.dispatch_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  perform private.dispatch_booking(new.id, 'insert');
  return null;
end $$;
create trigger dispatch_new_booking after insert on public.bookings
  for each row execute function private.dispatch_new_booking();

-- A confirmed booking whose time or party size changed gives its tables back and is assigned again.
create function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.assignment_state = 'confirmed'
     and (new.start_at, new.end_at, new.party_size) is distinct from (old.start_at, old.end_at, old.party_size) then
    perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
      'booking_changed: time or party size changed after confirmation',
      pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                    'start_changed', new.start_at is distinct from old.start_at), 'system');
    update public.bookings set next_attempt_at = pg_catalog.now() + interval '10 seconds', attempt_count = 0
     where id = new.id;
    perform private.dispatch_booking(new.id, 'modification');
  end if;
  return null;
end $$;
create trigger reassign_changed_booking after update of start_at, end_at, party_size on public.bookings
  for each row execute function private.reassign_changed_booking();

-- One sweep. Returns what it did. Safe to run concurrently (SKIP LOCKED) and at any frequency.
create function private.sweep(p_now timestamptz default pg_catalog.clock_timestamp())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.pipeline_settings;
  r record;
  expired integer := 0;
  dispatched integer := 0;
  not_dispatched integer := 0;
  escalated integer := 0;
  backoff_s numeric;
  reason text;
  configured boolean := private.dispatch_configured();
begin
  select * into s from private.pipeline_settings;

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    perform private.expire_lease(r.id, p_now);
    expired := expired + 1;
  end loop;

  for r in select b.id, b.restaurant_id, b.dispatch_count, b.assignment_state_version, b.created_at, b.assignment_mode,
                  b.attempt_count
             from public.bookings b
            where b.assignment_state in ('created', 'capacity_verified', 'assignment_pending') and b.next_attempt_at <= p_now
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    if r.dispatch_count >= s.max_dispatches then
      reason := case when configured then
          pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without the coordinator picking it up',
                            r.dispatch_count, pg_catalog.to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
        else
          pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                            r.dispatch_count) end;
      perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
        '{}'::jsonb, 'sweeper');
      -- Named for the booking's last mode, or the one it would have run in (the flags' ceiling is unknown here).
      perform private.record_escalation(coalesce(r.assignment_mode, (select m.mode from private.effective_mode(r.restaurant_id) m)),
        reason, r.attempt_count, null,
        pg_catalog.jsonb_build_object('dispatches', r.dispatch_count, 'dispatch_configured', configured),
        r.restaurant_id, r.id, 'error');
      escalated := escalated + 1;
    else
      -- The attempt counts even when nothing could be sent, so a booking still escalates in bounded time.
      backoff_s := least(60, 5 * power(2, r.dispatch_count)) + random() * 2;
      update public.bookings
         set dispatch_count = dispatch_count + 1, last_dispatched_at = p_now,
             next_attempt_at = p_now + pg_catalog.make_interval(secs => backoff_s)
       where id = r.id;
      if private.dispatch_booking(r.id, 'sweeper') is not null then
        dispatched := dispatched + 1;
      else
        not_dispatched := not_dispatched + 1;
      end if;
    end if;
  end loop;
  if not_dispatched > 0 and not configured then
    perform private.record_event('assignment.sweeper', 'dispatch.not_configured', 'error',
      pg_catalog.jsonb_build_object('not_dispatched', not_dispatched,
        'fix', 'store assignment_functions_url and assignment_pipeline_secret in Vault'), null, null, p_now);
  end if;

  if exists (select 1 from public.notification_outbox o
              where (o.status = 'pending' and o.next_attempt_at <= p_now)
                 or (o.status = 'sending' and o.lease_expires_at <= p_now)) then
    perform private.post_to_function('notification-dispatcher', '{"trigger": "sweeper"}'::jsonb);
  end if;

  if expired + dispatched + not_dispatched + escalated > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'dispatched', dispatched, 'not_dispatched', not_dispatched,
                                    'escalated', escalated),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated);
end $$;

-- For pg_cron 1.4, which only has minute schedules: sweep `p_iterations` times within the minute,
-- committing after each sweep so its dispatches go out. pg_cron 1.5+ (hosted Supabase) calls sweep() directly.
-- (A procedure that commits may not carry SET options or be security definer, so every name is qualified.)
create procedure private.run_sweeper(p_iterations integer default 1, p_interval_seconds numeric default 0)
language plpgsql as $$
begin
  for i in 1..p_iterations loop
    perform private.sweep(pg_catalog.clock_timestamp());
    commit;
    if i < p_iterations then
      perform pg_catalog.pg_sleep(p_interval_seconds);
    end if;
  end loop;
end $$;

create extension if not exists pg_cron;
do $$
begin
  if (select pg_catalog.regexp_match(extversion, '^(\d+)\.(\d+)')::int[] >= array[1, 5] from pg_catalog.pg_extension
       where extname = 'pg_cron') then
    perform cron.schedule('assignment-sweeper', '5 seconds', 'select private.sweep()');
  else
    perform cron.schedule('assignment-sweeper', '* * * * *', 'call private.run_sweeper(11, 5)');
  end if;
end $$;

revoke all on function private.post_to_function(text, jsonb), private.dispatch_configured(),
  private.dispatch_booking(uuid, text),
  private.mark_new_booking_due(), private.dispatch_new_booking(), private.reassign_changed_booking(),
  private.sweep(timestamptz) from public, anon, authenticated;
revoke all on procedure private.run_sweeper(integer, numeric) from public, anon, authenticated;
