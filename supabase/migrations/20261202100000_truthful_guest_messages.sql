-- What the guest is told always matches the booking. A message is owed when what the guest sees changes —
-- the booking confirmed for the first time, its time or party size changed, or it was cancelled after the
-- guest had heard of it — and never for a move to other tables. Each message has its own number in its
-- booking's sequence (dedupe key `<booking>:<seq>`, the sender's idempotency key), so a change back and
-- forth is a new message, never a duplicate dropped in silence. A message that has not gone out when the
-- booking changes again is superseded: only the newest state is sent, and the dispatcher checks under its
-- claim that a message still describes the booking before handing it to a sender.

alter table public.notification_outbox add column seq integer;
-- Rows from before this release: numbered per booking in the order they were written.
update public.notification_outbox o set seq = n.seq
  from (select id, pg_catalog.row_number() over (partition by booking_id order by id) as seq
          from public.notification_outbox) n
 where n.id = o.id;
alter table public.notification_outbox
  alter column seq set not null,
  add constraint notification_is_numbered_once_per_booking unique (booking_id, seq),
  drop constraint notification_kind_is_known,
  add constraint notification_kind_is_known
    check (kind in ('booking_confirmed', 'booking_changed', 'booking_cancelled')),
  drop constraint notification_status_is_known,
  -- superseded: a newer message replaced it, or the booking changed, before it went out; it is never sent.
  add constraint notification_status_is_known
    check (status in ('pending', 'sending', 'sent', 'dead', 'superseded'));
comment on column public.notification_outbox.seq is
  'This message''s number among its booking''s messages; the dedupe key is <booking id>:<seq>.';
comment on table public.notification_outbox is
  'Messages to the guest, one per guest-visible change, numbered per booking. The payload carries no personal data; the recipient is read at send time.';

-- What a message tells the guest about the booking: its reference, status, party size and times, the start
-- also in the restaurant's own zone, as the guest would read it.
create function private.guest_view(b public.bookings)
returns jsonb language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_build_object(
    'reference', b.reference,
    'status', case when b.status = 'cancelled' then 'cancelled' else 'confirmed' end,
    'party_size', b.party_size, 'start_at', b.start_at, 'end_at', b.end_at,
    'starts_local', pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
    'timezone', r.timezone)
    from public.restaurants r where r.id = b.restaurant_id;
$$;

-- True when a message tells the guest these details: the same start, end and party size.
create function private.message_says(m public.notification_outbox, b public.bookings)
returns boolean language sql stable set search_path = '' as $$
  select (m.payload ->> 'start_at')::timestamptz = b.start_at
     and (m.payload ->> 'end_at')::timestamptz is not distinct from b.end_at
     and (m.payload ->> 'party_size')::integer = b.party_size;
$$;

-- True when the message still tells the truth about the booking: nothing newer replaced it, and the booking
-- is (still) what the message says — cancelled for a cancellation, otherwise confirmed at the message's
-- time and party size. Timestamps are compared as instants, whatever zone the payload was written in.
create function private.message_is_current(m public.notification_outbox, b public.bookings)
returns boolean language sql stable set search_path = '' as $$
  select not exists (select 1 from public.notification_outbox n
                      where n.booking_id = m.booking_id and n.seq > m.seq and n.status <> 'superseded')
     and case when m.kind = 'booking_cancelled' then b.status = 'cancelled'
              else b.status in ('confirmed', 'checked_in', 'completed', 'no_show') and private.message_says(m, b) end;
$$;

-- Owe the guest whatever the booking's new state tells them. The guest has heard what was sent or is being
-- sent; what is owed is measured against that. A message still waiting that already says it stays;
-- anything else waiting is superseded. Runs under the booking's row lock (it is called from the status
-- change), so a booking's messages are numbered one at a time.
create function private.tell_guest(b public.bookings)
returns void language plpgsql set search_path = '' as $$
declare
  heard public.notification_outbox;
  waiting public.notification_outbox;
  kind text;
begin
  select * into heard from public.notification_outbox
   where booking_id = b.id and status in ('sent', 'sending') order by seq desc limit 1;
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

-- The guest hears of a booking when it is confirmed or cancelled; the state machine is the only writer of
-- status, so this covers the coordinator, ops and every cancellation path alike. Security definer: the
-- status changes inside RPCs that service_role calls, and the outbox is not its to write.
create function private.tell_guest_of_status()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  perform private.tell_guest(new);
  return null;
end $$;
create trigger tell_guest after update of status on public.bookings
  for each row when (new.status is distinct from old.status and new.status in ('confirmed', 'cancelled'))
  execute function private.tell_guest_of_status();

-- Confirming no longer queues the message itself: the status change does (tell_guest).
create or replace function private.seat_and_confirm(
  b public.bookings, p_table_ids uuid[], p_source text, p_assigned_by text, p_strategy text,
  p_reason text, p_assigned_metadata jsonb, p_confirmed_metadata jsonb, p_actor text
) returns integer language plpgsql set search_path = '' as $$
declare
  version integer;
begin
  perform private.release_booking_tables(b.id, 'superseded');
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, t, private.blocked_window(b), p_source, p_assigned_by
    from pg_catalog.unnest(p_table_ids) t;
  version := private.apply_assignment_transition(b.id, 'assigned', b.assignment_state_version, p_reason,
    p_assigned_metadata, p_actor);
  version := private.apply_assignment_transition(b.id, 'confirmed', version, p_reason, p_confirmed_metadata, p_actor);
  update public.bookings set assignment_strategy = p_strategy where id = b.id;
  return version;
end $$;
drop function private.enqueue_confirmation(public.bookings, boolean);

-- Claiming re-checks every message under the claim: one that no longer describes its booking, or that a
-- newer one replaced, is superseded instead of sent. A booking's messages go out in order: none is handed
-- out while an earlier one of the same booking is on its way under a live lease.
create or replace function public.notification_claim(p_limit integer default 20, p_lease_ms integer default 60000,
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
    select o.id, private.message_is_current(o, b) as current
      from public.notification_outbox o join public.bookings b on b.id = o.booking_id
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
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0)
      from due where o.id = due.id and due.current
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;
comment on function public.notification_claim(integer, integer, timestamptz) is
  'Claim due guest messages for sending (lease of p_lease_ms; an expired lease makes the row claimable again), each re-checked against its booking: a message that no longer describes it, or that a newer one replaced, is superseded instead. Each row comes with the lease_token notification_complete needs. Returns the recipient for the sender; never log it.';

revoke all on all routines in schema private from public, anon, authenticated;
