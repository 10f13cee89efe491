-- A guest who may hold a message is told of a change as a change, and a retry of what they may hold keeps its key.
--
-- A review of the guest-message path found two ways a guest could hold two messages that read as two bookings:
--   1. A confirmation for 19:00 got no answer from the mailer (perhaps received, retried later). The booking then
--      moved to 20:00 and was confirmed again. What the guest had heard was read from sent messages only, so
--      nothing counted and a second "confirmed for 20:00" was queued: a guest who had the first could come at
--      19:00, or think they had two tables. A message that may have reached the guest and says something else
--      (another time, stay or party, or a cancellation) now has them told of a change (booking_changed), which
--      the claim then keeps as one.
--   2. A change ("changed to 20:00") got no answer and waited to be tried again; a late, answered failure of the
--      confirmation before it made the guest's messages be worked out again, and the waiting change, which still
--      said the booking, was dropped for a new "confirmed for 20:00" under a new key (or the claim reworded it
--      under a new key): the mailer could not know it for a repeat. A waiting message that may have reached the
--      guest and still says the booking is now tried again as it is, under its own key, so a mailer that had it
--      drops the repeat.
-- A confirmation that may or may not have arrived and still says the booking is sent again, as before: perhaps
-- twice, never not at all.
-- Bodies as in 20261227060000 (notification_claim_unchecked and tell_guest), with those changes.

create or replace function private.notification_claim_unchecked(p_limit integer default 20, p_lease_ms integer default 60000,
                                                                p_now timestamptz default now())
returns table (id bigint, lease_token uuid, booking_id uuid, kind text, dedupe_key text, payload jsonb, attempts integer,
               recipient_email text, recipient_name text)
language plpgsql security definer set search_path = '' as $$
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 500';
  end if;
  return query
  with due as (
    select o.id,
           -- Nothing is news once the visit is over (after an outage, say).
           news.due and b.end_at > p_now as current,
           news.due and b.end_at <= p_now as visit_over,
           -- A change is a confirmation to a guest who received nothing yet, unless a send of this very change
           -- may have reached them: then it goes again as it went, under its key.
           case when o.kind = 'booking_changed' and not heard.any and not (o.may_have_arrived or o.status = 'sending')
                then 'booking_confirmed' else o.kind end as says,
           -- Its holder never reported on its last try, and it has had all its tries.
           o.status = 'sending' and o.attempts >= private.message_max_attempts() as exhausted
      from public.notification_outbox o join public.bookings b on b.id = o.booking_id,
           -- Received, or perhaps (private.may_have_reached_guest).
           lateral (select exists (select 1 from public.notification_outbox s
                                    where s.booking_id = o.booking_id and s.seq < o.seq
                                      and private.may_have_reached_guest(s)) as any) heard,
           -- Still owed: it describes the booking, and a cancellation is news only to a guest who received
           -- something of it.
           lateral (select private.message_is_current(o, b) and (o.kind <> 'booking_cancelled' or heard.any) as due) news
     where ((o.status = 'pending' and o.next_attempt_at <= p_now)
            or (o.status = 'sending' and o.lease_expires_at <= p_now))
       and not exists (select 1 from public.notification_outbox e
                        where e.booking_id = o.booking_id and e.seq < o.seq
                          and e.status = 'sending' and e.lease_expires_at > p_now)
     order by o.next_attempt_at
     limit p_limit
     for update of o skip locked),
  -- Runs to completion though nothing reads it, as every data-modifying WITH does.
  dropped as (
    -- A send still out (its sender never reported back) keeps its lease: it may have arrived, and its sender
    -- may yet report.
    update public.notification_outbox o
       set status = 'superseded',
           lease_token = case when o.status = 'sending' then o.lease_token end,
           lease_expires_at = case when o.status = 'sending' then o.lease_expires_at end
      from due where o.id = due.id and not due.current
    returning o.id, o.kind, o.attempts, o.restaurant_id, o.booking_id, due.visit_over),
  -- A message still owed when the visit was over never reached the guest in time: recorded.
  expired_noted as (
    insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
    select 'notifications', 'notification.expired', 'warning',
           pg_catalog.jsonb_build_object('kind', d.kind, 'attempts', d.attempts), d.restaurant_id, d.booking_id, p_now
      from dropped d where d.visit_over),
  given_up as (
    update public.notification_outbox o
       set status = 'dead', dead_because = 'retries_exhausted', lease_expires_at = null, may_have_arrived = true,
           last_error = 'its sender never reported on its last try',
           -- Its holder's report, should it come, is a late one: a success still makes the message sent.
           lease_token = null
      from due where o.id = due.id and due.current and due.exhausted
    returning o.kind, o.attempts, o.restaurant_id, o.booking_id),
  given_up_noted as (
    insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
    select 'notifications', 'notification.failed', 'error',
           pg_catalog.jsonb_build_object('kind', g.kind, 'attempts', g.attempts, 'dead', true, 'permanent', false,
                                         'dead_because', 'retries_exhausted', 'unreported', true),
           g.restaurant_id, g.booking_id, p_now
      from given_up g),
  claimed as (
    update public.notification_outbox o
       set status = 'sending', attempts = o.attempts + 1, lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
           kind = due.says, payload = o.payload || pg_catalog.jsonb_build_object('kind', due.says),
           -- Reworded now: a key of its own, which it keeps (it says "confirmed" from now on).
           dedupe_key = case when o.kind <> due.says then o.dedupe_key || ':' || due.says else o.dedupe_key end,
           -- Taken back from a holder that never reported: its send may have reached the guest.
           may_have_arrived = o.may_have_arrived or o.status = 'sending'
      from due where o.id = due.id and due.current and not due.exhausted
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;

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
  update public.notification_outbox set status = 'superseded' where booking_id = b.id and status = 'pending';
  if kind is null then
    return;
  end if;
  insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, payload)
  select b.id, b.restaurant_id, kind, n.seq, b.id::text || ':' || n.seq,
         private.guest_view(b) || pg_catalog.jsonb_build_object('kind', kind, 'seq', n.seq)
    from (select coalesce(max(o.seq), 0) + 1 as seq from public.notification_outbox o where o.booking_id = b.id) n;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
