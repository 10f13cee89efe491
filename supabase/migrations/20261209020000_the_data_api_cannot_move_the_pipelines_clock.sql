-- Callers through the Data API use the database's clock, and a message's lease length is bounded.
--
-- Six RPCs take p_now so pgTAP can move time, and two take a lease length. A review showed what a caller with
-- the service_role key could do with them, none of which the pipeline's functions ever do:
--   * assignment_claim_due(p_limit => 1000, p_now => '9999-01-01') made every waiting booking due in the year
--     9999: no sweep or claim loop took them again, and their restaurants' slots stayed spoken for;
--   * assignment_fail(kind error, p_now in the future), repeated, opened a breaker "in the future", whose
--     remaining cool-down overflowed an integer in every later begin of the restaurant;
--   * notification_claim(p_lease_ms => null) left a message in `sending` with no lease, never claimed again.
-- So a caller through the Data API (anon, authenticated, service_role) may not pass a clock (p_now must be
-- the database's own, which is what leaving it out gives), and a message's lease is bounded (never null or
-- negative; through the Data API 1 s to an hour; a claim's visibility already was). The database owner (pgTAP, the edge functions' direct connection) keeps p_now.
--
-- Each RPC is renamed into private (body, grants and all, unchanged) and public gets a function of the same
-- signature that checks the arguments and calls it: the checks are added without restating six long
-- bodies. Callers see the same names, arguments, defaults and results.

-- Whether the statement runs for a Data API role (PostgREST sets the role; security definer does not change it).
create function private.called_through_the_api()
returns boolean language sql stable set search_path = '' as $$
  select pg_catalog.current_setting('role') in ('anon', 'authenticated', 'service_role');
$$;

create function private.check_caller_clock(p_now timestamptz)
returns void language plpgsql stable set search_path = '' as $$
begin
  if p_now is null then
    raise exception using errcode = 'AS005', message = 'p_now may not be null: leave it out to use the database''s clock';
  end if;
  if p_now <> pg_catalog.now() and private.called_through_the_api() then
    raise exception using errcode = 'AS005',
      message = 'p_now is the database''s clock: callers through the Data API leave it out',
      hint = 'It is there for tests run by the database owner.';
  end if;
end $$;

create function private.check_lease_ms(p_name text, p_ms integer, p_min integer, p_max integer)
returns void language plpgsql immutable set search_path = '' as $$
begin
  if p_ms is null or p_ms < p_min or p_ms > p_max then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('%s must be between %s and %s milliseconds, not %s', p_name, p_min, p_max,
                                  coalesce(p_ms::text, 'null'));
  end if;
end $$;

-- A breaker opened at a time later than the clock (the owner's tests still can) defers its bookings by at
-- most one cool-down at a time instead of overflowing an integer; it stays open until its opened_at plus a
-- cool-down has passed. Breakers the Data API opened in the future before this migration open now instead
-- (below). Body as in 20261201100900 otherwise.
create or replace function private.breaker_admit(p_restaurant_id uuid, p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  br private.circuit_breakers;
  cooldown_ms integer;
  remaining_ms integer;
  stale text;
begin
  select * into br from private.circuit_breakers where restaurant_id = p_restaurant_id for update;
  if not found or br.state = 'closed' then
    return '{"allowed": true, "state": "closed"}'::jsonb;
  end if;
  cooldown_ms := (private.settings_for(p_restaurant_id)).breaker_cooldown_ms;
  if br.state = 'open' then
    remaining_ms := least(cooldown_ms::numeric,
      ceil(extract(epoch from (br.opened_at + pg_catalog.make_interval(secs => cooldown_ms / 1000.0) - p_now)) * 1000));
    if remaining_ms > 0 then
      return pg_catalog.jsonb_build_object('allowed', false, 'state', 'open', 'delay_ms', remaining_ms);
    end if;
    update private.circuit_breakers
       set state = 'half_open', probe_booking_id = p_booking_id, probe_started_at = p_now, updated_at = p_now
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_half_open', 'warning',
      pg_catalog.jsonb_build_object('consecutive_failures', br.consecutive_failures), p_restaurant_id, p_booking_id);
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  -- half_open: only the probe runs; others wait a little and look again, unless the probe went stale.
  if br.probe_booking_id = p_booking_id then
    update private.circuit_breakers set probe_started_at = p_now, updated_at = p_now where restaurant_id = p_restaurant_id;
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  stale := private.breaker_probe_staleness(br, p_now);
  if stale is not null then
    update private.circuit_breakers
       set probe_booking_id = p_booking_id, probe_started_at = p_now, updated_at = p_now
     where restaurant_id = p_restaurant_id;
    perform private.record_pipeline_event(private.booking_mode(p_booking_id), 'coordinator.circuit_probe_replaced', 'warning',
      pg_catalog.jsonb_build_object('previous_probe', br.probe_booking_id, 'why', stale,
                                    'consecutive_failures', br.consecutive_failures), p_restaurant_id, p_booking_id);
    return '{"allowed": true, "state": "half_open", "probe": true}'::jsonb;
  end if;
  return pg_catalog.jsonb_build_object('allowed', false, 'state', 'half_open', 'delay_ms', 1000);
end $$;

update private.circuit_breakers set opened_at = pg_catalog.now() where opened_at > pg_catalog.now();

-- The RPCs' bodies move to private under an _unchecked name, with their comments.
alter function public.assignment_begin(uuid, text, integer, text, timestamptz) set schema private;
alter function private.assignment_begin(uuid, text, integer, text, timestamptz) rename to assignment_begin_unchecked;
alter function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz) set schema private;
alter function private.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz) rename to assignment_commit_unchecked;
alter function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz) set schema private;
alter function private.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz) rename to assignment_fail_unchecked;
alter function public.assignment_claim_due(integer, uuid, integer, timestamptz) set schema private;
alter function private.assignment_claim_due(integer, uuid, integer, timestamptz) rename to assignment_claim_due_unchecked;
alter function public.notification_claim(integer, integer, timestamptz) set schema private;
alter function private.notification_claim(integer, integer, timestamptz) rename to notification_claim_unchecked;
alter function public.notification_complete(bigint, uuid, boolean, text, timestamptz) set schema private;
alter function private.notification_complete(bigint, uuid, boolean, text, timestamptz) rename to notification_complete_unchecked;

create function public.assignment_begin(p_booking_id uuid, p_trigger text default 'dispatch', p_max_parallel integer default null,
                                        p_mode_ceiling text default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.assignment_begin_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
end $$;

create function public.assignment_commit(p_booking_id uuid, p_lease_token uuid, p_table_ids uuid[], p_strategy text,
                                         p_duration_ms integer default null, p_metadata jsonb default '{}',
                                         p_shadow jsonb default null, p_moves jsonb default null,
                                         p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.assignment_commit_unchecked(p_booking_id, p_lease_token, p_table_ids, p_strategy, p_duration_ms,
                                             p_metadata, p_shadow, p_moves, p_now);
end $$;

create function public.assignment_fail(p_booking_id uuid, p_lease_token uuid, p_kind text, p_reason text,
                                       p_duration_ms integer default null, p_details jsonb default '{}',
                                       p_shadow jsonb default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.assignment_fail_unchecked(p_booking_id, p_lease_token, p_kind, p_reason, p_duration_ms, p_details,
                                           p_shadow, p_now);
end $$;

-- (Its body bounds p_visibility_ms already: 100 ms to 10 minutes.)
create function public.assignment_claim_due(p_limit integer default 10, p_restaurant_id uuid default null,
                                            p_visibility_ms integer default 10000, p_now timestamptz default now())
returns uuid[] language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.assignment_claim_due_unchecked(p_limit, p_restaurant_id, p_visibility_ms, p_now);
end $$;

-- A message's lease: through the Data API at least 1 s (shorter, and a second dispatcher could claim it while
-- the first sends), at most an hour, never null.
create function public.notification_claim(p_limit integer default 20, p_lease_ms integer default 60000,
                                          p_now timestamptz default now())
returns table (id bigint, lease_token uuid, booking_id uuid, kind text, dedupe_key text, payload jsonb, attempts integer,
               recipient_email text, recipient_name text)
language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  -- The owner's tests may lease for a millisecond (a dispatcher that dies at once); nobody for none.
  perform private.check_lease_ms('p_lease_ms', p_lease_ms,
    case when private.called_through_the_api() then 1000 else 1 end, 3600000);
  return query select * from private.notification_claim_unchecked(p_limit, p_lease_ms, p_now);
end $$;

create function public.notification_complete(p_id bigint, p_lease_token uuid, p_ok boolean, p_error text default null,
                                             p_now timestamptz default now())
returns text language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.notification_complete_unchecked(p_id, p_lease_token, p_ok, p_error, p_now);
end $$;

-- The comments follow the names callers use, plus what is checked now.
do $$
declare
  f record;
begin
  for f in select * from (values
      ('assignment_begin', 'uuid, text, integer, text, timestamptz'),
      ('assignment_commit', 'uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz'),
      ('assignment_fail', 'uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz'),
      ('assignment_claim_due', 'integer, uuid, integer, timestamptz'),
      ('notification_claim', 'integer, integer, timestamptz'),
      ('notification_complete', 'bigint, uuid, boolean, text, timestamptz')) v(name, args)
  loop
    execute pg_catalog.format('comment on function public.%I(%s) is %L', f.name, f.args,
      coalesce(pg_catalog.obj_description(pg_catalog.format('private.%I_unchecked(%s)', f.name, f.args)::regprocedure, 'pg_proc') || ' ', '')
      || 'p_now is for tests run by the database owner: through the Data API it must be left out (AS005).'
      || case f.name when 'notification_claim' then ' p_lease_ms is 1000–3600000.' else '' end);
    execute pg_catalog.format('comment on function private.%I_unchecked(%s) is %L', f.name, f.args,
      pg_catalog.format('The body of public.%s, which checks its arguments and calls this.', f.name));
  end loop;
end $$;

revoke all on function
  public.assignment_begin(uuid, text, integer, text, timestamptz),
  public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  public.assignment_claim_due(integer, uuid, integer, timestamptz),
  public.notification_claim(integer, integer, timestamptz),
  public.notification_complete(bigint, uuid, boolean, text, timestamptz)
  from public, anon, authenticated, service_role;
grant execute on function
  public.assignment_begin(uuid, text, integer, text, timestamptz),
  public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  public.assignment_claim_due(integer, uuid, integer, timestamptz),
  public.notification_claim(integer, integer, timestamptz),
  public.notification_complete(bigint, uuid, boolean, text, timestamptz)
  to service_role;

-- The bodies moved here from public lose service_role's grant; nothing of private is callable by the API roles.
revoke all on function
  private.assignment_begin_unchecked(uuid, text, integer, text, timestamptz),
  private.assignment_commit_unchecked(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  private.assignment_fail_unchecked(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  private.assignment_claim_due_unchecked(integer, uuid, integer, timestamptz),
  private.notification_claim_unchecked(integer, integer, timestamptz),
  private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz)
  from service_role;
revoke all on all routines in schema private from public, anon, authenticated;
