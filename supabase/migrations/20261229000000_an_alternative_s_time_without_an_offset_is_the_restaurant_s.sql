-- An alternative's time typed without an offset is read in the restaurant's time zone.
--
-- ops.manual_review_queue shows a review's alternatives in the restaurant's local time ("20:00 (+60 min):
-- T1", starts_local), and an operator types what it shows: ops.accept_alternative('<booking>', '2030-01-07
-- 20:00', 'ana'). Its p_start_at was a timestamptz, so Postgres read that in the session's time zone (UTC in
-- Studio's SQL editor), not the restaurant's: at a restaurant in Madrid the booking was moved to 21:00 local,
-- confirmed, and the guest told a time nobody offered, whenever 21:00 was also free (the call takes any start
-- on the 15-minute grid within ±90 minutes that seats the party); otherwise it was refused with a message
-- that did not name the cause (an attacker's review of the operator calls). The body is renamed into private
-- (unchanged, with its settings and comment) as private.accept_alternative_at, as 20261228140000 did for the
-- re-seating offers, and ops gets three functions of the name in its place, each with its own name for the
-- time, so a caller through the Data API, which chooses among functions of one name by the parameter names it
-- gives, is never left with two to choose from:
--   * (p_booking_id, p_start_at text, p_actor, p_reason): the time as an operator types it. One that names
--     its own zone or offset ('2030-01-07 19:00+00', the queue's start_at) is that instant; one that does not
--     is the restaurant's local time. Whether it names one is asked of Postgres's own parser (the same text
--     read under two session zones far apart gives the same instant only when it carries its own), so every
--     form Postgres accepts is read as it would be. A quoted literal, whose type is unknown, calls this one
--     (Postgres prefers the string category for an unknown argument), and so does a call naming p_start_at
--     (through the Data API too: a JSON member is text); one naming p_start_at with a typed value must give
--     text now.
--   * (p_booking_id, p_start timestamptz, p_actor, p_reason): an instant already typed, as (a ->>
--     'start_at')::timestamptz from the queue gives it, by position or as p_start.
--   * (p_booking_id, p_start_local timestamp, p_actor, p_reason): a local time already typed
--     (starts_local::timestamp), which would otherwise be cast to timestamptz in the session's zone.
-- A local time the restaurant's clocks skip, or show twice when they go back, is refused (AS005) rather than
-- moved or guessed: the queue's start_at, with its offset, names it.

alter function ops.accept_alternative(uuid, timestamptz, text, text) rename to accept_alternative_at;
alter function ops.accept_alternative_at(uuid, timestamptz, text, text) set schema private;
revoke all on function private.accept_alternative_at(uuid, timestamptz, text, text)
  from public, anon, authenticated, service_role;

-- A local time at a restaurant, as the instant it is there; AS005 for one its clocks skip or show twice (the
-- queue's start_at, with its offset, names such a time unambiguously).
create function private.restaurant_local_instant(p_local timestamp, p_zone text)
returns timestamptz language plpgsql stable set search_path = '' as $$
declare
  instant timestamptz := p_local at time zone p_zone;
begin
  if (instant at time zone p_zone) <> p_local then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('%s does not exist in %s: its clocks skip it', p_local, p_zone),
      hint = 'Give the alternative''s start_at from the review queue, with its offset.';
  end if;
  -- Another instant the same local time names: clocks turned back over it (by 30 minutes, an hour or two).
  if exists (select 1 from pg_catalog.unnest(array[-120, -60, -30, 30, 60, 120]) m
              where ((instant + pg_catalog.make_interval(mins => m)) at time zone p_zone) = p_local) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('%s happens twice in %s: its clocks go back over it', p_local, p_zone),
      hint = 'Give the alternative''s start_at from the review queue, with its offset.';
  end if;
  return instant;
end $$;
revoke all on function private.restaurant_local_instant(timestamp, text) from public, anon, authenticated, service_role;

create function ops.accept_alternative(p_booking_id uuid, p_start_at text, p_actor text,
                                       p_reason text default 'alternative time accepted')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  session_zone text := pg_catalog.current_setting('TimeZone');
  read_east timestamptz;
  read_west timestamptz;
  local_time timestamp;
begin
  -- None given: the stored function says what to give, as it does for a booking not found.
  if nullif(pg_catalog.btrim(p_start_at), '') is null then
    return private.accept_alternative_at(p_booking_id, null, p_actor, p_reason);
  end if;
  begin
    -- Set for this transaction and set back below; a failed parse rolls the block's setting back with it.
    perform pg_catalog.set_config('TimeZone', 'Pacific/Kiritimati', true); -- UTC+14
    read_east := p_start_at::timestamptz;
    perform pg_catalog.set_config('TimeZone', 'Pacific/Pago_Pago', true); -- UTC-11
    read_west := p_start_at::timestamptz;
    perform pg_catalog.set_config('TimeZone', session_zone, true);
    if read_east <> read_west then
      local_time := p_start_at::timestamp;
    end if;
  exception when data_exception then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('%s is not a date and time', pg_catalog.quote_literal(pg_catalog.left(p_start_at, 60))),
      hint = 'Give it as the review queue shows it, e.g. ''2030-01-07 20:00'' (the restaurant''s local time) or with an offset (''2030-01-07 19:00+00'').';
  end;
  -- Read the same under both zones, it names its own offset or zone: that instant. Otherwise it is the
  -- restaurant's local time, as the timestamp overload reads one.
  if local_time is null then
    return private.accept_alternative_at(p_booking_id, read_east, p_actor, p_reason);
  end if;
  return ops.accept_alternative(p_booking_id, local_time, p_actor, p_reason);
end $$;
comment on function ops.accept_alternative(uuid, text, text, text) is
  'Take one of a reviewed booking''s alternatives: p_start_at as an operator types it, a date and time without an offset or zone (''2030-01-07 20:00'', as ops.manual_review_queue shows alternatives) being the restaurant''s local time, one with an offset or zone (''2030-01-07 19:00+00'', the queue''s start_at) that instant; AS005 for text that is not a date and time, or a local time the restaurant''s clocks skip or show twice. Then as private.accept_alternative_at: the new time, its tables (and any re-seating of others it lists) re-checked under the restaurant lock, confirmed, the guest told.';
revoke all on function ops.accept_alternative(uuid, text, text, text) from public, anon, authenticated;
grant execute on function ops.accept_alternative(uuid, text, text, text) to service_role;

create function ops.accept_alternative(p_booking_id uuid, p_start timestamptz, p_actor text,
                                       p_reason text default 'alternative time accepted')
returns jsonb language sql security definer set search_path = '' as $$
  select private.accept_alternative_at(p_booking_id, p_start, p_actor, p_reason);
$$;
comment on function ops.accept_alternative(uuid, timestamptz, text, text) is
  'ops.accept_alternative(uuid, text, text, text) for a time already typed as an instant, e.g. (a ->> ''start_at'')::timestamptz of one of ops.manual_review_queue()''s alternatives.';
revoke all on function ops.accept_alternative(uuid, timestamptz, text, text) from public, anon, authenticated;
grant execute on function ops.accept_alternative(uuid, timestamptz, text, text) to service_role;

create function ops.accept_alternative(p_booking_id uuid, p_start_local timestamp, p_actor text,
                                       p_reason text default 'alternative time accepted')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  zone text := (select r.timezone from public.bookings b join public.restaurants r on r.id = b.restaurant_id
                 where b.id = p_booking_id);
begin
  return private.accept_alternative_at(
    p_booking_id,
    case when zone is not null then private.restaurant_local_instant(p_start_local, zone)
         else p_start_local::timestamptz end,
    p_actor, p_reason);
end $$;
comment on function ops.accept_alternative(uuid, timestamp, text, text) is
  'ops.accept_alternative(uuid, text, text, text) for a time already typed as a timestamp without time zone, e.g. starts_local::timestamp: the restaurant''s local time, as a text without an offset is.';
revoke all on function ops.accept_alternative(uuid, timestamp, text, text) from public, anon, authenticated;
grant execute on function ops.accept_alternative(uuid, timestamp, text, text) to service_role;
