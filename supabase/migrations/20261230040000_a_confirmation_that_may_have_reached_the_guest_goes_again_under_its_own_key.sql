-- A confirmation that may have reached the guest is sent again under its own key, never a second one under a
-- new key.
--
-- A review of the guest messages under faults found a second confirmation of an unchanged booking: its
-- confirmation was out (the mailer took it, the report was lost or came after the lease), the booking was
-- planned again meanwhile (a floor-plan change, say), and a claim dropped the message as no longer current;
-- confirmed again on the same terms, the booking had nothing heard (a dropped confirmation counts as not
-- received, so that a guest is confirmed perhaps twice but never not at all) and got a new confirmation under a
-- new key, which the mailer delivered too. Now:
--   - private.tell_guest, owing a confirmation or a change, first takes back the last message that may have
--     reached the guest if it was dropped and still says the booking: it goes again as it is, under its own
--     key, which a mailer that had it drops (as a retry of a message still waiting already did, 20261227180000);
--   - public.notification_complete reporting such a dropped message sent makes it sent (it answered
--     superseded, and the message stayed not received for a confirmation).
-- A message taken back counts as perhaps received from then on (may_have_arrived), whatever its first sender
-- reports after that (such a report finds the message claimed again or waiting, and is kept as a late one is):
-- a guest it turns out never reached is then told of a cancellation they did not need, never left untold.
-- Where a later message died, none is taken back: that one would keep it from being current (a new one goes).
-- private.tell_guest: body as in 20261227180000, with the dropped message taken back.
-- private.notification_complete_unchecked: body as in 20261227060000, with a dropped message reported sent made
-- sent.

create or replace function private.tell_guest(b public.bookings)
returns void language plpgsql set search_path = '' as $$
declare
  heard public.notification_outbox;
  waiting public.notification_outbox;
  dropped public.notification_outbox;
  kind text;
begin
  -- Every message of the booking locked first: a dispatcher's claim that is taking one (pending → sending)
  -- commits before this reads what the guest has heard, and no claim takes one while this decides.
  perform 1 from public.notification_outbox where booking_id = b.id for update;
  -- What the guest surely has, or is being sent. A message dropped while its send was out (its sender never
  -- said) may have reached them or not: for a confirmation it counts as not received, so a booking confirmed
  -- again is confirmed again, never not at all (with that very message, below, where it can be); for a
  -- cancellation it counts as received, so a guest who may think they are booked is told.
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
    -- Nothing surely heard, but a message that may have reached the guest says otherwise: a change.
    when heard.id is null then
      case when exists (select 1 from public.notification_outbox o
                         where o.booking_id = b.id and private.may_have_reached_guest(o)
                           and (o.kind = 'booking_cancelled' or not private.message_says(o, b)))
           then 'booking_changed' else 'booking_confirmed' end
    when private.message_says(heard, b) then
      -- A later message may have reached the guest and says otherwise: they are told again.
      case when exists (select 1 from public.notification_outbox o
                         where o.booking_id = b.id and o.seq > heard.seq and private.may_have_reached_guest(o)
                           and (o.kind = 'booking_cancelled' or not private.message_says(o, b)))
           then 'booking_changed' end
    else 'booking_changed' end;

  select * into waiting from public.notification_outbox
   where booking_id = b.id and status = 'pending' order by seq desc limit 1;
  if waiting.id is not null and waiting.kind = kind and waiting.seq > coalesce(heard.seq, 0)
     and (kind = 'booking_cancelled' or private.message_says(waiting, b)) then
    return; -- already owed, and still right (a duplicate dispatch, a table move)
  end if;
  -- A message that may have reached the guest and still says the booking is tried again as it is: under its own
  -- key, a mailer that had it drops the repeat, where a reworded one would be news.
  if waiting.id is not null and waiting.may_have_arrived and waiting.seq > coalesce(heard.seq, 0)
     and kind in ('booking_confirmed', 'booking_changed') and waiting.kind in ('booking_confirmed', 'booking_changed')
     and private.message_says(waiting, b) then
    return;
  end if;
  -- A confirmation or change dropped while its send was out, which may have reached the guest and still says
  -- the booking, the last that may have: it goes again as it is, under its own key, where a new one would have
  -- a new key and a mailer that had the first would deliver the second as well.
  if kind in ('booking_confirmed', 'booking_changed') then
    select * into dropped from public.notification_outbox o
     where o.booking_id = b.id and o.status = 'superseded' and private.may_have_reached_guest(o)
       and o.kind in ('booking_confirmed', 'booking_changed') and o.seq > coalesce(heard.seq, 0)
       and private.message_says(o, b)
       -- Nothing later that may have reached the guest, nor one dead (which would keep the taken-back message
       -- from being current, and so from going at all).
       and not exists (select 1 from public.notification_outbox l
                        where l.booking_id = b.id and l.seq > o.seq
                          and (private.may_have_reached_guest(l) or l.status = 'dead'))
     order by o.seq desc limit 1;
  end if;
  update public.notification_outbox set status = 'superseded' where booking_id = b.id and status = 'pending';
  if kind is null then
    return;
  end if;
  if dropped.id is not null then
    update public.notification_outbox
       set status = 'pending', attempts = 0, next_attempt_at = pg_catalog.now(), lease_token = null,
           lease_expires_at = null, last_error = null, may_have_arrived = true
     where id = dropped.id;
    return;
  end if;
  insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, payload)
  select b.id, b.restaurant_id, kind, n.seq, b.id::text || ':' || n.seq,
         private.guest_view(b) || pg_catalog.jsonb_build_object('kind', kind, 'seq', n.seq)
    from (select coalesce(max(o.seq), 0) + 1 as seq from public.notification_outbox o where o.booking_id = b.id) n;
end $$;

create or replace function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
                                                        p_error text default null,
                                                        p_now timestamptz default now(),
                                                        p_permanent boolean default false,
                                                        p_may_have_arrived boolean default false,
                                                        p_retry_after_ms integer default null,
                                                        p_not_sent boolean default false)
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
  if p_not_sent is null then
    raise exception using errcode = 'AS005', message = 'p_not_sent must be true or false';
  end if;
  if p_not_sent and (p_ok or p_permanent or p_may_have_arrived) then
    raise exception using errcode = 'AS005',
      message = 'p_not_sent hands back a message this claim never posted: pass it with p_ok, p_permanent and p_may_have_arrived false';
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
    -- Claimed again since (this caller's lease ran out): the current holder records its own result. What this
    -- holder's send did is kept, whoever holds the message now: it reached the guest (the message is sent,
    -- unless another send of it is out or it was dropped: then perhaps received), or it may have.
    if p_ok and row.status in ('pending', 'dead') then
      update public.notification_outbox
         set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null, dead_because = null,
             may_have_arrived = true
       where id = p_id;
    elsif p_ok or p_may_have_arrived then
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
       set lease_expires_at = null,
           last_error = case when p_not_sent then last_error
                             else private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500) end,
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
  if p_ok and row.status = 'superseded' and row.lease_expires_at is not null then
    -- Dropped for a newer message while this send was out, and it did arrive: the guest has it.
    update public.notification_outbox set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null
     where id = p_id;
    return 'sent';
  end if;
  if row.status <> 'sending' then
    return row.status; -- this claim's result is already recorded, or its message dropped: nothing to do
  end if;
  if p_ok then
    update public.notification_outbox set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null
     where id = p_id;
    return 'sent';
  end if;
  if p_not_sent then
    -- Never posted: the try its claim counted is given back, and it comes due at once, or when the provider
    -- asked (up to a quarter later, at random, so a rate-limited batch does not come back at one instant).
    update public.notification_outbox
       set status = 'pending', attempts = greatest(attempts - 1, 0), lease_expires_at = null,
           next_attempt_at = p_now + pg_catalog.make_interval(secs =>
             least(coalesce(p_retry_after_ms, 0) * (1 + 0.25 * pg_catalog.random()), 3600000) / 1000.0)
     where id = p_id;
    return 'pending';
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

comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer, boolean) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (1 s doubling to an hour, each wait give or take a quarter at random; dead after 16 tries, about five hours, longer when the provider asks to wait; ops.resend_dead_messages queues dead ones again). A failure with p_permanent (the sender says the message can never go as it stands: refused by the provider, or no address) is dead at once. A failure with p_may_have_arrived (no answer: a timeout, a dropped connection, a 500, 502, 504, or a CDN''s 520 or 524) is retried the same way, and from then on the guest counts as perhaps having the message: a cancellation or a change is owed to them. p_retry_after_ms is the wait the provider asked for (Retry-After): the next try is no sooner (up to a quarter later, at random), and an hour at most. p_not_sent hands back a message this claim never posted (the provider asked to wait first, or the run ran out of time): no try is counted, and it is due again at once or after p_retry_after_ms. Returns the new status; lease_lost when the row has been claimed again since (nothing written but what this holder''s send did: a success makes the message sent, or perhaps received while another send of it is out; a send without an answer, perhaps received); superseded when a newer message replaced it while the send was out and this reports a failure (it still counts as perhaps received, unless the failure came with an answer: then the guest is told again what they are owed); such a message this reports sent is sent, and heard. p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';

revoke all on all routines in schema private from public, anon, authenticated;
