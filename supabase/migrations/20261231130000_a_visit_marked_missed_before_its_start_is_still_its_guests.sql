-- A visit marked missed or over before its start is still its guest's.
--
-- A review of what a platform holding the service key can do found that it could mark a confirmed booking
-- no_show or completed before its start, then delete it: a visit over or missed may be deleted, so the guest,
-- who holds a confirmation, was never told. Such a booking is now deleted only once its start has passed,
-- or after it is cancelled (the guest is told), or when no guest has heard of it; the status itself may
-- still be written early (a party seated ahead of its time, a clock running fast).
-- private.guard_booking_delete: body as in 20261227060000 otherwise.

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
  -- Over or missed only once its start has passed: marked so before it, it is still the guest's.
  if old.status <> 'cancelled' and old.end_at > pg_catalog.now()
     and (old.status not in ('completed', 'no_show') or old.start_at > pg_catalog.now())
     and (old.status in ('confirmed', 'checked_in')
          or exists (select 1 from public.notification_outbox m
                      where m.booking_id = old.id and private.may_have_reached_guest(m))) then
    if old.status in ('completed', 'no_show') then
      raise exception using errcode = 'AS001',
        message = pg_catalog.format('booking %s is marked %s before its start, and its guest holds a confirmation: delete it once its start has passed',
                                    old.id, old.status),
        hint = 'Cancelling it instead (public.cancel_booking) tells the guest it is cancelled.';
    end if;
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is held by its guest (%s, its stay ahead): cancel it first (public.cancel_booking), so the guest is told and its tables are freed, then delete it once the cancellation has gone out',
                                  old.id, old.status),
      hint = 'A cancelled booking, a visit over or missed (its start passed), or one no guest has heard of may be deleted.';
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
