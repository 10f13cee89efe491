-- A message a claim rewords from "changed" to "confirmed" goes out under a key of its own.
--
-- What was wrong: the claim words a change as a confirmation to a guest who received nothing yet, and it
-- judges that at every try. A change first tried while an earlier confirmation's sender had not reported
-- back (it may have arrived) went out as "changed"; when that confirmation then failed for good, the next
-- try of the change went out as "confirmed" under the same dedupe key, which the sender passes on as the
-- idempotency key. A provider that honours the key either delivers nothing (it answers with the first
-- request's result, so the guest keeps a "changed" for a booking they never had confirmed) or refuses a
-- reused key with another body (422 for most e-mail APIs), which the webhook sender takes as permanent:
-- the message died at once.
-- Now the claim that rewords a message gives it the key `<booking id>:<seq>:booking_confirmed`, once: the row
-- says "confirmed" from then on, so its later tries keep that key, and a key used for one wording is never
-- used for another. (A rewording at a message's first try gives a key no send has used either.)
--
-- Body as in 20261209060000, with the key.

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
           -- Received, or perhaps: sent, or handed to a sender that never reported back (its lease ran out).
           -- A send that failed was not received.
           lateral (select exists (select 1 from public.notification_outbox s
                                    where s.booking_id = o.booking_id and s.seq < o.seq
                                      and s.status in ('sent', 'sending')) as any) heard
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
    update public.notification_outbox o
       set status = 'superseded', lease_token = null, lease_expires_at = null
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

revoke all on all routines in schema private from public, anon, authenticated;
