-- What a guest may hold outlives a report that never came, a report that came late and a delete.
--
-- A review of the guest-message path found:
--   * A send whose holder never reported back (its isolate killed, its database calls failing past the lease)
--     was claimed again as if it had never gone out. When the second send then failed with an answer, the
--     message counted as not received, so a later cancellation owed the guest nothing, though the first send
--     may well have reached them. The claim now marks a message it takes back from a silent holder as perhaps
--     received (may_have_arrived), and a late success from that holder is kept: the message is sent, or, when
--     another holder has it out, perhaps received.
--   * A change whose send got no answer (perhaps received) was forgotten when the booking changed back: what
--     the guest was told was read from sent messages only, which said the booking's time again, so nothing was
--     owed and the guest kept "changed to 20:00" for a 19:00 booking. A later message that may have reached the
--     guest and says something else now has them told again (booking_changed).
--   * A holder that claims more than it can send in its window, or that a provider asks to wait, posted
--     nothing for the rest; each of those still used up one of the message's 16 tries (a long rate limit could
--     kill a batch that was never posted), and the window's leftovers waited out their lease. Such messages are
--     now handed back (notification_complete's p_not_sent): no try is counted, and they come due at once or
--     when the provider asked. A message whose holder never reports is no longer taken back forever: once it
--     has had its tries it is dead (retries_exhausted), as one whose failures were reported is.
--   * A message still due when the visit was over (the mailer down all evening) went out then: "confirmed for
--     19:00" at midnight. The claim now drops it (superseded), as it drops one that no longer describes its
--     booking, and records it (notification.expired).
--   * A booking cancelled and then deleted (as the delete guard itself advises for one the guest holds) took
--     its unsent cancellation with it: the guest kept the confirmation. A booking ahead whose cancellation is
--     still waiting to go out, or going out, cannot be deleted now (AS001) until it has gone.
--
-- public.notification_complete gains p_not_sent (default false), so it is dropped and created again, as
-- 20261225000000 did: a dispatcher deployed before this migration still calls it without it.
-- Bodies as in 20261222000000 (notification_claim_unchecked), 20261225000000 (tell_guest,
-- notification_complete_unchecked and the public function) and 20261226050000 (guard_booking_delete), with
-- those changes.

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
           -- A change is a confirmation to a guest who received nothing yet.
           case when o.kind = 'booking_changed' and not heard.any then 'booking_confirmed' else o.kind end as says,
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
    when heard.id is null then 'booking_confirmed'
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
  update public.notification_outbox set status = 'superseded' where booking_id = b.id and status = 'pending';
  if kind is null then
    return;
  end if;
  insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, payload)
  select b.id, b.restaurant_id, kind, n.seq, b.id::text || ':' || n.seq,
         private.guest_view(b) || pg_catalog.jsonb_build_object('kind', kind, 'seq', n.seq)
    from (select coalesce(max(o.seq), 0) + 1 as seq from public.notification_outbox o where o.booking_id = b.id) n;
end $$;

drop function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer);
drop function private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer);

create function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
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

create function public.notification_complete(p_id bigint, p_lease_token uuid, p_ok boolean, p_error text default null,
                                             p_now timestamptz default now(), p_permanent boolean default false,
                                             p_may_have_arrived boolean default false,
                                             p_retry_after_ms integer default null,
                                             p_not_sent boolean default false)
returns text language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.notification_complete_unchecked(p_id, p_lease_token, p_ok, p_error, p_now, p_permanent,
                                                 p_may_have_arrived, p_retry_after_ms, p_not_sent);
end $$;

comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer, boolean) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (1 s doubling to an hour, each wait give or take a quarter at random; dead after 16 tries, about five hours, longer when the provider asks to wait; ops.resend_dead_messages queues dead ones again). A failure with p_permanent (the sender says the message can never go as it stands: refused by the provider, or no address) is dead at once. A failure with p_may_have_arrived (no answer: a timeout, a dropped connection, a 500, 502, 504, or a CDN''s 520 or 524) is retried the same way, and from then on the guest counts as perhaps having the message: a cancellation or a change is owed to them. p_retry_after_ms is the wait the provider asked for (Retry-After): the next try is no sooner (up to a quarter later, at random), and an hour at most. p_not_sent hands back a message this claim never posted (the provider asked to wait first, or the run ran out of time): no try is counted, and it is due again at once or after p_retry_after_ms. Returns the new status; lease_lost when the row has been claimed again since (nothing written but what this holder''s send did: a success makes the message sent, or perhaps received while another send of it is out; a send without an answer, perhaps received); superseded when a newer message replaced it while the send was out (it still counts as received, unless this reports a failure with an answer: then the guest is told again what they are owed). p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';
comment on function private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer, boolean) is
  'The body of public.notification_complete, which checks its arguments and calls this.';

revoke all on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer, boolean)
  from public, anon, authenticated, service_role;
grant execute on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean, boolean, integer, boolean) to service_role;

create or replace function private.guard_booking_delete()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  caller text := case when pg_catalog.current_setting('role') = 'none' then session_user::text
                      else pg_catalog.current_setting('role') end;
begin
  -- A restaurant being deleted (its row already gone in this transaction) takes its bookings with it.
  if not exists (select 1 from public.restaurants r where r.id = old.restaurant_id)
     or caller = (select pg_catalog.pg_get_userbyid(c.relowner) from pg_catalog.pg_class c where c.oid = tg_relid)
     or coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = caller), false) then
    return old;
  end if;
  if old.status not in ('cancelled', 'completed', 'no_show') and old.end_at > pg_catalog.now()
     and (old.status in ('confirmed', 'checked_in')
          or exists (select 1 from public.notification_outbox m
                      where m.booking_id = old.id and private.may_have_reached_guest(m))) then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is held by its guest (%s, its stay ahead): cancel it first (public.cancel_booking), so the guest is told and its tables are freed, then delete it once the cancellation has gone out',
                                  old.id, old.status),
      hint = 'A cancelled booking, a visit over or missed, or one no guest has heard of may be deleted.';
  end if;
  -- Its guest is still to be told of the cancellation: deleting it would take the message with it.
  if old.end_at > pg_catalog.now()
     and exists (select 1 from public.notification_outbox m
                  where m.booking_id = old.id and m.kind = 'booking_cancelled' and m.status in ('pending', 'sending')) then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is cancelled and its guest is still being told: delete it once the cancellation has gone out',
                                  old.id),
      hint = 'A message that cannot go out ends up in ops.dead_messages(); the booking may be deleted then.';
  end if;
  return old;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
