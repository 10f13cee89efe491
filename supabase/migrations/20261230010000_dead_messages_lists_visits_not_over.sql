-- ops.dead_messages lists the messages about bookings whose visit is not over, unless asked for every one.
--
-- A review of what grows with a platform's age found that ops.dead_messages listed every dead guest message
-- ever, the soonest booking first: a booking made without an e-mail address leaves one (no_address) for every
-- message it is owed, and nothing removes them (they are the outbox's record that the guest was not told, and
-- its dedupe keys), so after months an operator in Studio met a year of old bookings before the one message
-- that could still go. Messages about visits that are over are left out now, as ops.manual_review_queue leaves
-- out such reviews (p_include_ended => true lists every one, as before): none of them can be sent any more,
-- and a message is only sent while its visit is not over, so a refusal health raises for the hour after is
-- listed unless the visit has ended since.

drop function ops.dead_messages(uuid);

create function ops.dead_messages(p_restaurant_id uuid default null, p_include_ended boolean default false)
returns table (message_id bigint, booking_id uuid, reference text, restaurant text, starts_local text, kind text,
               attempts integer, dead_because text, last_error text, has_address boolean, resendable boolean,
               not_resendable_because text)
language sql stable security definer set search_path = '' as $$
  select o.id, b.id, b.reference, r.name,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         o.kind, o.attempts, coalesce(o.dead_because, 'retries_exhausted'), o.last_error, private.has_address(b),
         private.message_is_resendable(o, b, pg_catalog.now()),
         case when b.start_at <= pg_catalog.now() then 'the booking has begun'
              when not private.message_is_current(o, b) then 'the booking changed since: a newer message or none is due'
              when not private.has_address(b) then 'the booking has no e-mail address'
         end
    from public.notification_outbox o
    join public.bookings b on b.id = o.booking_id
    join public.restaurants r on r.id = b.restaurant_id
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
     and (coalesce(p_include_ended, false) or b.end_at > pg_catalog.now())
   order by b.start_at, o.id;
$$;
comment on function ops.dead_messages(uuid, boolean) is
  'Dead guest messages about bookings whose visit is not over (of one restaurant, or all; p_include_ended => true for every one ever), soonest booking first: the kind, tries, why it died (dead_because: retries_exhausted, refused or no_address), the sender''s last error, whether the booking has an e-mail address (never the address), whether ops.resend_dead_messages would queue it, and if not, why (the booking has begun, it changed since, or it has no address).';
revoke all on function ops.dead_messages(uuid, boolean) from public, anon, authenticated;
grant execute on function ops.dead_messages(uuid, boolean) to service_role;
