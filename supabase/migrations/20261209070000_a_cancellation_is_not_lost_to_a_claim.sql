-- A cancellation is not lost to a dispatcher claiming the confirmation at the same moment.
--
-- tell_guest decides what the guest is owed from what was sent or is being sent. A dispatcher claiming the
-- booking's confirmation (pending → sending) in a transaction not yet committed was invisible to it: a
-- cancellation then saw the confirmation as still pending, owed nothing (the guest had heard nothing), and
-- its superseding update, once the claim committed, skipped the row now `sending`. The confirmation went
-- out and the cancellation never did. tell_guest now locks the booking's messages before it reads them, so
-- it waits for such a claim and sees the confirmation being sent; a claim skips rows it holds. Body as in
-- 20261202100000 otherwise.
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

revoke all on all routines in schema private from public, anon, authenticated;
