-- Deleting a table bookings have held is refused with what to do instead.
--
-- The holds keep a reference to their table (assignment_table_belongs_to_the_restaurant, checked at commit
-- since 20261210150000), so deleting a table bookings have ever held, directly or with its zone, failed at
-- COMMIT with Postgres's foreign-key error about booking_table_assignments: true, but no help to the platform
-- that sent it (a review of the floor-plan changes). It is now refused at once (AS005) saying to take the table
-- out of use instead. A table never held may be deleted as before, and a restaurant is deleted with all of it.

create function private.guard_table_delete()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  -- A restaurant being deleted (its row already gone in this transaction) takes its tables with it.
  if exists (select 1 from public.restaurants r where r.id = old.restaurant_id)
     and exists (select 1 from public.booking_table_assignments a where a.table_id = old.id) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('table %s has been held by bookings and stays on record: take it out of use instead (active = false)',
                                  old.table_number),
      hint = 'Deleting the restaurant deletes its tables with it.';
  end if;
  return old;
end $$;

create trigger guard_table_delete before delete on public.restaurant_tables
  for each row execute function private.guard_table_delete();

revoke all on all routines in schema private from public, anon, authenticated;
