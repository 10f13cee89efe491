-- A row's identity never changes: the id of a booking, a restaurant or a part of its floor plan, and the
-- restaurant a part of the floor plan belongs to.
--
-- A review of the state-machine invariants found that nothing stopped service_role from changing a row's id,
-- and the keys pointing at it are checked at the end of the statement (a hold's key to its table only at
-- commit), where another row that took the old id in the same request satisfies them. One upsert through the
-- Data API (on_conflict=reference, merge-duplicates) could give a confirmed booking a new id and insert a new
-- booking under the old one, which then owned the old one's history, tables and guest messages: its state
-- could be set to confirmed with a plain UPDATE (the guard found the history it wanted), or it stayed in
-- created forever, every walk refused by the history's one-row-per-version key. The same swap on
-- restaurant_tables (on_conflict=restaurant_id,table_number) moved every hold of T1 onto another row, leaving
-- the physical T1 free to be booked twice, and changing a service period's or a table's id skipped the
-- floor-plan re-check, which pairs old and new rows by id. A row that moves to another restaurant likewise
-- left the old restaurant's re-check out.
--
-- Now an UPDATE that changes such an id, or the restaurant of a zone, table, adjacency, service period or turn
-- policy, is refused (AS005): insert a new row instead. (A booking's restaurant was already guarded.) The
-- trigger fires only when the UPDATE names the column, so ordinary updates pay nothing.

create function private.keep_row_identity()
returns trigger language plpgsql set search_path = '' as $$
begin
  raise exception using errcode = 'AS005',
    message = pg_catalog.format('%s.%s: a row''s id, and the restaurant a part of its floor plan belongs to, never change',
                                tg_table_schema, tg_table_name),
    hint = 'Insert a new row instead (and delete the old one if it is no longer needed).';
end $$;

create trigger keep_row_identity before update of id on public.bookings
  for each row when (new.id is distinct from old.id) execute function private.keep_row_identity();
create trigger keep_row_identity before update of id on public.restaurants
  for each row when (new.id is distinct from old.id) execute function private.keep_row_identity();
create trigger keep_row_identity before update of id, restaurant_id on public.zones
  for each row when (new.id is distinct from old.id or new.restaurant_id is distinct from old.restaurant_id)
  execute function private.keep_row_identity();
create trigger keep_row_identity before update of id, restaurant_id on public.restaurant_tables
  for each row when (new.id is distinct from old.id or new.restaurant_id is distinct from old.restaurant_id)
  execute function private.keep_row_identity();
create trigger keep_row_identity before update of restaurant_id on public.table_adjacency
  for each row when (new.restaurant_id is distinct from old.restaurant_id) execute function private.keep_row_identity();
create trigger keep_row_identity before update of id, restaurant_id on public.service_periods
  for each row when (new.id is distinct from old.id or new.restaurant_id is distinct from old.restaurant_id)
  execute function private.keep_row_identity();
create trigger keep_row_identity before update of id, restaurant_id on public.turn_time_policies
  for each row when (new.id is distinct from old.id or new.restaurant_id is distinct from old.restaurant_id)
  execute function private.keep_row_identity();

revoke all on all routines in schema private from public, anon, authenticated;
