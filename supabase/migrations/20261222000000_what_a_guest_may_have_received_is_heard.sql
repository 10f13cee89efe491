-- What a guest may have received counts as heard, even once a newer message replaced it; and a message a
-- claim rewords goes out under a key of its own.
--
-- What was wrong:
--   * a claim drops (supersedes) a message that no longer describes its booking, and it nulled the lease of
--     one still out with a sender that never reported back. That message may have arrived, but nothing said so
--     any more: the guest counted as having heard nothing, so a change queued meanwhile went out as
--     "confirmed" at its next try, and a booking changed back to what that message said queued a second
--     confirmation. The sender's late report was refused as lease_lost;
--   * the claim decides at every try whether a change is worded "changed" or (to a guest who received nothing
--     yet) "confirmed". A change first tried as "changed" and tried again as "confirmed" went out under the
--     same dedupe key, which the sender passes on as the idempotency key: a provider that honours it answers a
--     reused key with the first request's result (the confirmation is never delivered) or refuses it (422 for
--     most e-mail APIs, which the webhook sender takes as permanent: the message died at once).
-- Now:
--   * a message dropped while its send was out keeps its lease (superseded, lease_expires_at set: no other
--     superseded row has one) and counts as what the guest may have received (private.may_have_reached_guest),
--     for the claim's wording and for tell_guest alike. Its sender's late report is taken: a success changes
--     nothing, a failure clears the lease, so the message no longer counts;
--   * the claim that rewords a message gives it the key `<booking id>:<seq>:booking_confirmed`, once: the row
--     says "confirmed" from then on, so its later tries keep that key, and no key is used for two wordings.
--
-- Bodies as in 20261209060000 (notification_claim_unchecked), 20261209070000 (tell_guest) and 20261221000000
-- (notification_complete_unchecked), with those changes.

-- Sent; being sent; or dropped for a newer message while its send was out, and not reported failed since.
-- A send that failed was not received. No search_path, every operator qualified: the planner inlines it.
create function private.may_have_reached_guest(m public.notification_outbox)
returns boolean language sql immutable as $$
  select m.status operator(pg_catalog.=) any ('{sent,sending}'::text[])
      or (m.status operator(pg_catalog.=) 'superseded' and m.lease_expires_at is not null);
$$;

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
           -- A cancellation is news only to a guest who received something of the booking.
           private.message_is_current(o, b)
             and (o.kind <> 'booking_cancelled' or heard.any) as current,
           -- A change is a confirmation to a guest who received nothing yet.
           case when o.kind = 'booking_changed' and not heard.any then 'booking_confirmed' else o.kind end as says
      from public.notification_outbox o join public.bookings b on b.id = o.booking_id,
           -- Received, or perhaps (private.may_have_reached_guest).
           lateral (select exists (select 1 from public.notification_outbox s
                                    where s.booking_id = o.booking_id and s.seq < o.seq
                                      and private.may_have_reached_guest(s)) as any) heard
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
    returning o.id),
  claimed as (
    update public.notification_outbox o
       set status = 'sending', attempts = o.attempts + 1, lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
           kind = due.says, payload = o.payload || pg_catalog.jsonb_build_object('kind', due.says),
           -- Reworded now: a key of its own, which it keeps (it says "confirmed" from now on).
           dedupe_key = case when o.kind <> due.says then o.dedupe_key || ':' || due.says else o.dedupe_key end
      from due where o.id = due.id and due.current
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;

-- Body as in 20261209070000, with what the guest heard read as the claim reads it.
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
  select * into heard from public.notification_outbox o
   where o.booking_id = b.id and private.may_have_reached_guest(o) order by o.seq desc limit 1;
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

create or replace function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
                                                        p_error text default null,
                                                        p_now timestamptz default now(),
                                                        p_permanent boolean default false)
returns text language plpgsql security definer set search_path = '' as $$
declare
  row public.notification_outbox;
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
  select * into row from public.notification_outbox where id = p_id for update;
  if not found then
    raise exception using errcode = 'AS005', message = pg_catalog.format('notification %s does not exist', p_id);
  end if;
  if row.lease_token is distinct from p_lease_token then
    -- Claimed again since (this caller's lease ran out): the current holder records the result.
    perform private.record_event('notifications', 'notification.lease_lost', 'warning',
      pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'status', row.status, 'ok', p_ok),
      row.restaurant_id, row.booking_id);
    return 'lease_lost';
  end if;
  if row.status = 'superseded' and row.lease_expires_at is not null and not p_ok then
    -- Dropped for a newer message while this send was out: it did not arrive after all, so the guest has not
    -- heard it (private.may_have_reached_guest).
    update public.notification_outbox set lease_expires_at = null where id = p_id;
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
         lease_expires_at = null,
         last_error = private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500),
         next_attempt_at = p_now + pg_catalog.make_interval(secs => private.backoff_ms(row.attempts + 1, 1000, 3600000, 0) / 1000.0)
   where id = p_id;
  -- A guest without an address is no fault of the pipeline's: recorded, not an error.
  perform private.record_event('notifications', 'notification.failed',
    case when because is null then 'warning' when because = 'no_address' then 'info' else 'error' end,
    pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', dead, 'permanent', p_permanent)
      || case when dead then pg_catalog.jsonb_build_object('dead_because', because) else '{}'::jsonb end,
    row.restaurant_id, row.booking_id, p_now);
  return case when dead then 'dead' else 'pending' end;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
