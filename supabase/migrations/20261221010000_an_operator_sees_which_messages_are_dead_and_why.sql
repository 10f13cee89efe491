-- An operator sees which guest messages are dead and why.
--
-- ops.health counts dead messages (dead, dead_resendable) and asks for ops.resend_dead_messages, but nothing
-- of ops said which messages, about which bookings, nor why they died: a mail provider's outage, a message
-- the provider refused (fix the mailer, then resend), or a guest with no e-mail address (get one, then
-- resend). Reading the outbox takes the table's owner. ops.dead_messages lists them, soonest booking first,
-- with the sender's last error (scrubbed when it was stored) and what stands in the way of a resend; it shows
-- whether the booking has an address, never the address.

create function ops.dead_messages(p_restaurant_id uuid default null)
returns table (message_id bigint, booking_id uuid, reference text, restaurant text, starts_local text, kind text,
               attempts integer, last_error text, has_address boolean, resendable boolean, not_resendable_because text)
language sql stable security definer set search_path = '' as $$
  select o.id, b.id, b.reference, r.name,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         o.kind, o.attempts, o.last_error, b.customer_email is not null,
         private.message_is_resendable(o, b, pg_catalog.now()),
         case when b.start_at <= pg_catalog.now() then 'the booking has begun'
              when not private.message_is_current(o, b) then 'the booking changed since: a newer message or none is due'
              when b.customer_email is null then 'the booking has no e-mail address'
         end
    from public.notification_outbox o
    join public.bookings b on b.id = o.booking_id
    join public.restaurants r on r.id = b.restaurant_id
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
   order by b.start_at, o.id;
$$;
comment on function ops.dead_messages(uuid) is
  'Dead guest messages (of one restaurant, or all), soonest booking first: the kind, tries, the sender''s last error, whether the booking has an e-mail address (never the address), whether ops.resend_dead_messages would queue it, and if not, why (the booking has begun, it changed since, or it has no address).';

revoke all on function ops.dead_messages(uuid) from public, anon, authenticated;
grant execute on function ops.dead_messages(uuid) to service_role;
