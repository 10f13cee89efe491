
-- Confirmation notifications through an outbox. The row is written in the same transaction that confirms
-- the booking, and its dedupe key (booking + kind + what was confirmed) is unique, so however often a
-- booking is dispatched or confirmed again with the same details, there is one notification to send.
-- A dispatcher claims rows under a lease, hands them to a sender with the dedupe key as idempotency key,
-- and records the result; failures are retried with backoff and end as `dead` after 8 tries. Each claim
-- has its own lease token, and only the holder of the current token can record a result, so a dispatcher
-- whose lease ran out cannot complete a row another dispatcher has claimed since.

create table public.notification_outbox (
  id bigint generated always as identity primary key,
  booking_id uuid not null references public.bookings (id) on delete cascade,
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  kind text not null constraint notification_kind_is_known check (kind in ('booking_confirmed', 'booking_changed')),
  dedupe_key text not null constraint notification_is_sent_once_per_dedupe_key unique,
  payload jsonb not null default '{}'::jsonb,
  status text not null default 'pending'
    constraint notification_status_is_known check (status in ('pending', 'sending', 'sent', 'dead')),
  attempts integer not null default 0 constraint notification_attempts_are_not_negative check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  lease_expires_at timestamptz,
  lease_token uuid,
  last_error text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  constraint sent_notification_records_when check ((status = 'sent') = (sent_at is not null)),
  constraint notification_payload_has_no_personal_data check (not private.jsonb_has_personal_data(payload))
);
comment on table public.notification_outbox is
  'Notifications to send, one per dedupe key. The payload carries no personal data; the recipient is read at send time.';
create index notification_outbox_due_idx on public.notification_outbox (next_attempt_at) where status in ('pending', 'sending');

create function private.enqueue_confirmation(b public.bookings, p_first boolean)
returns void language sql set search_path = '' as $$
  insert into public.notification_outbox (booking_id, restaurant_id, kind, dedupe_key, payload)
  values (b.id, b.restaurant_id,
          case when p_first then 'booking_confirmed' else 'booking_changed' end,
          case when p_first then b.id::text || ':booking_confirmed'
               else b.id::text || ':booking_changed:' || pg_catalog.md5(b.start_at::text || '/' || b.party_size) end,
          pg_catalog.jsonb_build_object('reference', b.reference, 'party_size', b.party_size,
                                        'start_at', b.start_at, 'end_at', b.end_at))
  on conflict (dedupe_key) do nothing;
$$;

create function public.notification_claim(p_limit integer default 20, p_lease_ms integer default 60000,
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
    select o.id from public.notification_outbox o
     where (o.status = 'pending' and o.next_attempt_at <= p_now)
        or (o.status = 'sending' and o.lease_expires_at <= p_now)
     order by o.next_attempt_at
     limit p_limit
     for update skip locked),
  claimed as (
    update public.notification_outbox o
       set status = 'sending', attempts = o.attempts + 1, lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0)
      from due where o.id = due.id
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;
comment on function public.notification_claim(integer, integer, timestamptz) is
  'Claim due notifications for sending (lease of p_lease_ms; an expired lease makes the row claimable again). Each row comes with the lease_token that notification_complete needs. Returns the recipient for the sender; never log it.';

create function public.notification_complete(p_id bigint, p_lease_token uuid, p_ok boolean, p_error text default null,
                                             p_now timestamptz default now())
returns text language plpgsql security definer set search_path = '' as $$
declare
  row public.notification_outbox;
begin
  if p_lease_token is null then
    raise exception using errcode = 'AS005', message = 'lease_token is required: pass the one notification_claim returned';
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
  if row.status <> 'sending' then
    return row.status; -- this claim's result is already recorded: nothing to do
  end if;
  if p_ok then
    update public.notification_outbox set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null
     where id = p_id;
    return 'sent';
  end if;
  update public.notification_outbox
     set status = case when row.attempts >= 8 then 'dead' else 'pending' end,
         lease_expires_at = null,
         last_error = pg_catalog.left(private.scrub_personal_data(coalesce(p_error, 'unknown error')), 500),
         next_attempt_at = p_now + pg_catalog.make_interval(secs => private.backoff_ms(row.attempts + 1, 1000, 300000, 0) / 1000.0)
   where id = p_id;
  perform private.record_event('notifications', 'notification.failed', case when row.attempts >= 8 then 'error' else 'warning' end,
    pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', row.attempts >= 8),
    row.restaurant_id, row.booking_id);
  return case when row.attempts >= 8 then 'dead' else 'pending' end;
end $$;
comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (dead after 8 tries). Returns the new status, or lease_lost (nothing written) when the row has been claimed again since.';

alter table public.notification_outbox enable row level security;
revoke all on public.notification_outbox from public, anon, authenticated, service_role;
grant select on public.notification_outbox to service_role;
revoke all on sequence public.notification_outbox_id_seq from public, anon, authenticated;
revoke all on function public.notification_claim(integer, integer, timestamptz),
  public.notification_complete(bigint, uuid, boolean, text, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.notification_claim(integer, integer, timestamptz),
  public.notification_complete(bigint, uuid, boolean, text, timestamptz) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
