-- A blank e-mail address is no address.
--
-- customer_email takes any text up to 320 characters, blank included. The webhook sender takes an empty one
-- for none (the message is dead at once, "no e-mail address"), but 20261221000000 counted any non-null value
-- as an address: such a message was resendable, so ops.health stayed degraded for it and every resend
-- queued it to die again. Now an address is a value with something besides white space in it, in the database
-- as in the sender (which trims it too). Bodies as in 20261221000000 and 20261221010000 with that change.

create function private.has_address(b public.bookings)
returns boolean language sql immutable set search_path = '' as $$
  select coalesce(pg_catalog.btrim(b.customer_email, E' \t\n\r\f\x0b') <> '', false);
$$;

create or replace function private.message_is_resendable(m public.notification_outbox, b public.bookings, p_now timestamptz)
returns boolean language sql stable set search_path = '' as $$
  select m.status = 'dead' and b.start_at > p_now and private.has_address(b)
     and private.message_is_current(m, b);
$$;

create or replace function ops.dead_messages(p_restaurant_id uuid default null)
returns table (message_id bigint, booking_id uuid, reference text, restaurant text, starts_local text, kind text,
               attempts integer, last_error text, has_address boolean, resendable boolean, not_resendable_because text)
language sql stable security definer set search_path = '' as $$
  select o.id, b.id, b.reference, r.name,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         o.kind, o.attempts, o.last_error, private.has_address(b),
         private.message_is_resendable(o, b, pg_catalog.now()),
         case when b.start_at <= pg_catalog.now() then 'the booking has begun'
              when not private.message_is_current(o, b) then 'the booking changed since: a newer message or none is due'
              when not private.has_address(b) then 'the booking has no e-mail address'
         end
    from public.notification_outbox o
    join public.bookings b on b.id = o.booking_id
    join public.restaurants r on r.id = b.restaurant_id
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
   order by b.start_at, o.id;
$$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
