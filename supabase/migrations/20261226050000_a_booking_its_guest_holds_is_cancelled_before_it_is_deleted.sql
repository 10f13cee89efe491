-- A booking its guest holds is cancelled before it is deleted.
--
-- A review of the changes a platform makes after a booking exists found that service_role, which may delete
-- bookings (to erase one a guest asked to be forgotten, say), could delete a confirmed booking still ahead:
-- its tables, its history and its guest messages went with it (one being sent included), no cancellation was
-- recorded, and the guest, who held a confirmation, was never told. Such a delete is now refused (AS001) with
-- what to do instead: cancel it (public.cancel_booking), which tells the guest and frees the tables, then
-- delete it. So is one in review or being planned again whose guest may have heard of it. A cancelled
-- booking, a visit over or missed (its stay over, or marked completed or no-show) and one no guest has heard of
-- may be deleted as before, as may every booking of a restaurant being deleted; the owner (migrations, the SQL
-- editor, a test's clean slate, the demo's reset) is not held to it.

-- Security definer, to read what the guest may have heard (private.may_have_reached_guest); the caller is
-- the role that set itself (service_role under the Data API), or else the login role.
create function private.guard_booking_delete()
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
      message = pg_catalog.format('booking %s is held by its guest (%s, its stay ahead): cancel it first (public.cancel_booking), so the guest is told and its tables are freed, then delete it',
                                  old.id, old.status),
      hint = 'A cancelled booking, a visit over or missed, or one no guest has heard of may be deleted.';
  end if;
  return old;
end $$;

create trigger guard_booking_delete before delete on public.bookings
  for each row execute function private.guard_booking_delete();

revoke all on all routines in schema private from public, anon, authenticated;
