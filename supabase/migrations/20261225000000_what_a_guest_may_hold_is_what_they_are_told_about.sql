-- What a guest may hold is what they are told about.
--
-- A review of the guest-message path found:
--   * A send that got no answer (a timeout, a connection dropped after the request went out, a 500, 502, 504)
--     was recorded as any failure: not received. The mailer may well have taken it, so a guest could hold a
--     confirmation, then the booking was cancelled, and tell_guest, seeing only a pending confirmation, owed
--     them nothing. Such a failure is now reported with p_may_have_arrived, kept on the message
--     (notification_outbox.may_have_arrived, never cleared), and private.may_have_reached_guest counts it: the
--     guest is told of the cancellation, and a change is worded as one. A cancellation whose own send got no
--     answer stays owed (tell_guest), and a holder whose lease ran out still records that its send may have
--     arrived.
--   * Failed messages came due again all at the same moment (the backoff had no jitter), so a provider's rate
--     limit after an outage refused the same burst at every doubling until the messages died. Each wait is now
--     the backoff give or take a quarter, at random (16 tries still take about five hours).
--   * A booking cancelled after the party arrived or after its visit (checked in, completed, no-show) told the
--     guest it was cancelled; ops.cancel_booking refuses such a booking for that reason, public.cancel_booking
--     (a platform's own clean-up) did not. The trigger no longer tells the guest of that cancellation.
--   * A provider's Retry-After was not heeded: a rate-limited message was tried again after a second, and
--     again, using up its tries at the pace of the backoff. p_retry_after_ms now sets the earliest next try
--     (give or take a quarter later, so a rate-limited burst does not come back at one instant either).
--
-- public.notification_complete gains p_may_have_arrived (default false) and p_retry_after_ms (default null), so
-- it is dropped and created again, as 20261221000000 did: a dispatcher deployed before this migration still
-- calls it without them.
-- Bodies as in 20261222000000 (notification_complete_unchecked, may_have_reached_guest, tell_guest), 20261221000000 (the
-- public function) and 20261202100000 (the trigger), with those changes.

-- A party that has arrived, or whose visit is over, is not told of a cancellation (as ops.cancel_booking).
-- First, and replaced rather than dropped (which would lock bookings against reads): bookings before the
-- outbox below, the order a status change takes them in, so the two never wait for each other.
create or replace trigger tell_guest after update of status on public.bookings
  for each row when (new.status is distinct from old.status and new.status in ('confirmed', 'cancelled')
                     and not (new.status = 'cancelled' and old.status in ('checked_in', 'completed', 'no_show')))
  execute function private.tell_guest_of_status();

drop function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean);
drop function private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz, boolean);

alter table public.notification_outbox add column may_have_arrived boolean not null default false;
comment on column public.notification_outbox.may_have_arrived is
  'A send of this message got no answer (a timeout, a dropped connection, a 500, 502 or 504): the guest may have it. Set by notification_complete''s p_may_have_arrived and never cleared; private.may_have_reached_guest counts it.';

-- Sent; being sent; dropped for a newer message while its send was out, and not reported failed since; or a
-- send of it got no answer. No search_path, every operator qualified: the planner inlines it.
create or replace function private.may_have_reached_guest(m public.notification_outbox)
returns boolean language sql immutable as $$
  select m.status operator(pg_catalog.=) any ('{sent,sending}'::text[])
      or (m.status operator(pg_catalog.=) 'superseded' and m.lease_expires_at is not null)
      or m.may_have_arrived;
$$;

-- Body as in 20261222000000, with a cancellation being retried after no answer kept owed.
create or replace function private.tell_guest(b public.bookings)
returns void language plpgsql set search_path = '' as $$
declare
  heard public.notification_outbox;
  waiting public.notification_outbox;
  kind text;
begin
  -- Every message of the booking locked first: a dispatcher's claim that is taking one (pending → sending)
  -- commits before this reads what the guest has heard, and no claim takes one while this decides.
  perform 1 from public.notification_outbox where booking_id = b.id for update;
  -- What the guest surely has, or is being sent. A message dropped while its send was out (its sender never
  -- said) may have reached them or not: for a confirmation it counts as not received, so a booking confirmed
  -- again is confirmed again, perhaps twice but never not at all; for a cancellation it counts as received,
  -- so a guest who may think they are booked is told.
  select * into heard from public.notification_outbox o
   where o.booking_id = b.id
     and (o.status in ('sent', 'sending') or b.status = 'cancelled' and private.may_have_reached_guest(o))
   order by o.seq desc limit 1;
  -- A cancellation still being tried after a send of it got no answer counts as perhaps heard: it stays owed.
  if b.status = 'cancelled' and heard.kind = 'booking_cancelled' and heard.status = 'pending' then
    return;
  end if;
  kind := case
    when b.status = 'cancelled' then
      case when heard.id is not null and heard.kind <> 'booking_cancelled' then 'booking_cancelled' end
    when heard.id is null then 'booking_confirmed'
    when private.message_says(heard, b) then null
    else 'booking_changed' end;

  select * into waiting from public.notification_outbox
   where booking_id = b.id and status = 'pending' order by seq desc limit 1;
  if waiting.id is not null and waiting.kind = kind and waiting.seq > coalesce(heard.seq, 0)
     and (kind = 'booking_cancelled' or private.message_says(waiting, b)) then
    return; -- already owed, and still right (a duplicate dispatch, a table move)
  end if;
  update public.notification_outbox set status = 'superseded' where booking_id = b.id and status = 'pending';
  if kind is null then
    return;
  end if;
  insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, payload)
  select b.id, b.restaurant_id, kind, n.seq, b.id::text || ':' || n.seq,
         private.guest_view(b) || pg_catalog.jsonb_build_object('kind', kind, 'seq', n.seq)
    from (select coalesce(max(o.seq), 0) + 1 as seq from public.notification_outbox o where o.booking_id = b.id) n;
end $$;

create function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
                                                        p_error text default null,
                                                        p_now timestamptz default now(),
                                                        p_permanent boolean default false,
                                                        p_may_have_arrived boolean default false,
                                                        p_retry_after_ms integer default null)
returns text language plpgsql security definer set search_path = '' as $$
declare
  row public.notification_outbox;
  booking public.bookings;
  dead boolean;
  because text;
begin
  if p_lease_token is null then
    raise exception using errcode = 'AS005', message = 'lease_token is required: pass the one notification_claim returned';
  end if;
  if p_ok is null then
    raise exception using errcode = 'AS005', message = 'p_ok must be true (sent) or false (failed)';
  end if;
  if p_permanent is null then
    raise exception using errcode = 'AS005', message = 'p_permanent must be true or false';
  end if;
  if p_ok and p_permanent then
    raise exception using errcode = 'AS005', message = 'p_permanent describes a failure: pass it with p_ok false';
  end if;
  if p_may_have_arrived is null then
    raise exception using errcode = 'AS005', message = 'p_may_have_arrived must be true or false';
  end if;
  if p_may_have_arrived and (p_ok or p_permanent) then
    raise exception using errcode = 'AS005',
      message = 'p_may_have_arrived describes a failure without an answer: pass it with p_ok false and p_permanent false';
  end if;
  if p_retry_after_ms is not null and (p_ok or p_permanent or p_retry_after_ms not between 0 and 86400000) then
    raise exception using errcode = 'AS005',
      message = 'p_retry_after_ms is the wait a provider asked for (0 to 86400000 ms), with p_ok false and p_permanent false';
  end if;
  -- A late failure of a dropped message has tell_guest lock the booking's messages (below): the booking's row
  -- first, then, as every status change's tell_guest does, so the two never wait for each other in a circle.
  -- A failure of a message still out may turn out to be that late failure too, when its lease has run out: a
  -- claim can drop it between this read and the lock below. A failure reported within its lease, the usual
  -- one, locks no booking, and a success reads nothing more.
  if not p_ok then
    select * into row from public.notification_outbox where id = p_id;
    if row.status = 'superseded' and row.lease_expires_at is not null
       or row.status = 'sending' and row.lease_expires_at <= pg_catalog.clock_timestamp() + interval '5 seconds' then
      perform 1 from public.bookings where id = row.booking_id for no key update;
    end if;
  end if;
  select * into row from public.notification_outbox where id = p_id for update;
  if not found then
    raise exception using errcode = 'AS005', message = pg_catalog.format('notification %s does not exist', p_id);
  end if;
  if row.lease_token is distinct from p_lease_token then
    -- Claimed again since (this caller's lease ran out): the current holder records the result.
    -- This holder's send may still have arrived: that much is kept, whoever holds the message now.
    if p_may_have_arrived then
      update public.notification_outbox set may_have_arrived = true where id = p_id;
    end if;
    perform private.record_event('notifications', 'notification.lease_lost', 'warning',
      pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'status', row.status, 'ok', p_ok),
      row.restaurant_id, row.booking_id);
    return 'lease_lost';
  end if;
  if row.status = 'superseded' and row.lease_expires_at is not null and not p_ok then
    -- Dropped for a newer message while this send was out, and it did not arrive after all: it no longer
    -- counts as heard, so the guest may be owed a message again (the one its newer message was dropped for,
    -- say, when the booking changed back). tell_guest works that out, as at a status change.
    update public.notification_outbox
       set lease_expires_at = null, last_error = private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500),
           may_have_arrived = may_have_arrived or p_may_have_arrived
     where id = p_id;
    perform private.record_event('notifications', 'notification.failed', 'info',
      pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', false,
                                    'permanent', p_permanent, 'superseded', true),
      row.restaurant_id, row.booking_id, p_now);
    select * into booking from public.bookings where id = row.booking_id; -- locked above
    if booking.status in ('confirmed', 'cancelled') and booking.end_at > p_now then
      perform private.tell_guest(booking);
    end if;
    return row.status;
  end if;
  if row.status <> 'sending' then
    return row.status; -- this claim's result is already recorded, or its message dropped: nothing to do
  end if;
  if p_ok then
    update public.notification_outbox set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null
     where id = p_id;
    return 'sent';
  end if;
  dead := p_permanent or row.attempts >= private.message_max_attempts();
  because := case when not dead then null
                  when not p_permanent then 'retries_exhausted'
                  when not private.has_address((select b from public.bookings b where b.id = row.booking_id)) then 'no_address'
                  else 'refused' end;
  update public.notification_outbox
     set status = case when dead then 'dead' else 'pending' end, dead_because = because,
         lease_expires_at = null, may_have_arrived = may_have_arrived or p_may_have_arrived,
         last_error = private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500),
         -- The doubling backoff, give or take a quarter: messages that failed together (a provider's rate limit
         -- after an outage, a resend of every dead one) come due spread out, not again all at once. Never sooner
         -- than the provider asked (Retry-After; up to a quarter later, spread as well), up to an hour.
         next_attempt_at = p_now + pg_catalog.make_interval(secs => greatest(
           private.backoff_ms(row.attempts + 1, 1000, 3600000, 0) * (0.75 + 0.5 * pg_catalog.random()),
           least(coalesce(p_retry_after_ms, 0) * (1 + 0.25 * pg_catalog.random()), 3600000)) / 1000.0)
   where id = p_id;
  -- A guest without an address is no fault of the pipeline's: recorded, not an error.
  perform private.record_event('notifications', 'notification.failed',
    case when because is null then 'warning' when because = 'no_address' then 'info' else 'error' end,
    pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', dead, 'permanent', p_permanent)
      || case when dead then pg_catalog.jsonb_build_object('dead_because', because) else '{}'::jsonb end,
    row.restaurant_id, row.booking_id, p_now);
  return case when dead then 'dead' else 'pending' end;
end $$;

create function public.notification_complete(p_id bigint, p_lease_token uuid, p_ok boolean, p_error text default null,
                                             p_now timestamptz default now(), p_permanent boolean default false,
                                             p_may_have_arrived boolean default false,
                                             p_retry_after_ms integer default null)
returns text language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.notification_complete_unchecked(p_id, p_lease_token, p_ok, p_error, p_now, p_permanent,
                                                 p_may_have_arrived, p_retry_after_ms);
end $$;

comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (1 s doubling to an hour, each wait give or take a quarter at random; dead after 16 tries, about five hours, longer when the provider asks to wait; ops.resend_dead_messages queues dead ones again). A failure with p_permanent (the sender says the message can never go as it stands: refused by the provider, or no address) is dead at once. A failure with p_may_have_arrived (no answer: a timeout, a dropped connection, a 500, 502 or 504) is retried the same way, and from then on the guest counts as perhaps having the message: a cancellation or a change is owed to them. p_retry_after_ms is the wait the provider asked for (Retry-After): the next try is no sooner (up to a quarter later, at random), and an hour at most. Returns the new status; lease_lost (nothing written, but that the message may have arrived) when the row has been claimed again since; superseded when a newer message replaced it while the send was out (it still counts as received, unless this reports a failure with an answer: then the guest is told again what they are owed). p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';
comment on function private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer) is
  'The body of public.notification_complete, which checks its arguments and calls this.';

revoke all on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer)
  from public, anon, authenticated, service_role;
grant execute on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer) to service_role;

revoke all on all routines in schema private from public, anon, authenticated;
