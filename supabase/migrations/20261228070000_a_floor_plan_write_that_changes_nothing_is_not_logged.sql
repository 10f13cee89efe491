-- A floor-plan write that changes nothing is not logged as a change.
--
-- Every lease's rule digest and every snapshot's seating options count the restaurant's rows of
-- private.floor_plan_changes (20261205030000), a log only ever appended to and never pruned. An UPDATE of a
-- restaurant's tables, adjacency or service periods was logged even when it left every value as it was, so a
-- platform that synchronises its floor plan on a timer (an upsert of every table each minute, say) added half a
-- million rows a year per restaurant, and each booking's lease and snapshot counted them all: a cost per booking
-- growing with the restaurant's age, for no change (a review of the database at a year's scale). The re-check's
-- marks (20261210140000) skipped such writes of tables and service hours, but not of adjacency: each such
-- write of a pair queued a re-check of the restaurant's bookings ahead. It now skips those too.
-- An UPDATE is now logged for the restaurants whose rows it really changed: a row whose values, all but
-- updated_at (which the write itself stamps), differ from what it was. A rename still counts (seating options
-- name their tables). INSERT, DELETE, TRUNCATE and the time zone are logged as before; an insert or delete of no
-- row logs nothing, as before.
-- private.record_floor_plan_change: body as in 20261205030000, with that filter; private.mark_floor_plan_changed:
-- body as in 20261210140000, marking on an update of adjacency only for pairs it really changed.

create or replace function private.record_floor_plan_change()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'TRUNCATE' then
    insert into private.floor_plan_changes (restaurant_id) select r.id from public.restaurants r;
  elsif tg_table_name = 'restaurants' then
    insert into private.floor_plan_changes (restaurant_id) values (new.id);
  -- A restaurant being deleted takes its floor plan with it: nothing to log then.
  elsif tg_op = 'INSERT' then
    insert into private.floor_plan_changes (restaurant_id)
    select distinct n.restaurant_id from new_rows n
     where exists (select 1 from public.restaurants r where r.id = n.restaurant_id);
  elsif tg_op = 'UPDATE' then
    -- The rows as they were and as they are, less the stamp of the write: what is in one and not the other.
    insert into private.floor_plan_changes (restaurant_id)
    select distinct c.restaurant_id
      from ((select o.restaurant_id, pg_catalog.to_jsonb(o) - 'updated_at' as r from old_rows o
             except all
             select n.restaurant_id, pg_catalog.to_jsonb(n) - 'updated_at' from new_rows n)
            union all
            (select n.restaurant_id, pg_catalog.to_jsonb(n) - 'updated_at' from new_rows n
             except all
             select o.restaurant_id, pg_catalog.to_jsonb(o) - 'updated_at' from old_rows o)) c
     where exists (select 1 from public.restaurants r where r.id = c.restaurant_id);
  else
    insert into private.floor_plan_changes (restaurant_id)
    select distinct o.restaurant_id from old_rows o
     where exists (select 1 from public.restaurants r where r.id = o.restaurant_id);
  end if;
  return null;
end $$;

create or replace function private.mark_floor_plan_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed uuid[];
begin
  if tg_op = 'TRUNCATE' then
    select pg_catalog.array_agg(r.id) into changed from public.restaurants r;
  elsif tg_table_name = 'restaurants' then
    changed := array[new.id];
  elsif tg_table_name = 'restaurant_tables' then
    -- Only what a rule reads (a new table breaks no seat; a table a booking has held cannot be deleted).
    select pg_catalog.array_agg(distinct x.restaurant_id) into changed
      from new_rows n join old_rows o on o.id = n.id,
           lateral (values (o.restaurant_id), (n.restaurant_id)) x(restaurant_id)
     where (o.restaurant_id, o.zone_id, o.capacity, o.min_party_size, o.max_party_size, o.active, o.out_of_service, o.movable)
           is distinct from (n.restaurant_id, n.zone_id, n.capacity, n.min_party_size, n.max_party_size, n.active, n.out_of_service, n.movable);
  elsif tg_table_name = 'table_adjacency' and tg_op = 'UPDATE' then
    -- A pair changed into another (one written back as it was breaks nothing; an added pair breaks no seat).
    select pg_catalog.array_agg(distinct g.restaurant_id) into changed
      from (select o.restaurant_id, o.table_a, o.table_b from old_rows o
            except
            select n.restaurant_id, n.table_a, n.table_b from new_rows n) g;
  elsif tg_table_name = 'table_adjacency' then
    -- A pair removed.
    select pg_catalog.array_agg(distinct o.restaurant_id) into changed from old_rows o;
  elsif tg_op = 'INSERT' then
    -- Service hours first set restrict a restaurant that had none.
    select pg_catalog.array_agg(distinct n.restaurant_id) into changed from new_rows n;
  elsif tg_op = 'DELETE' then
    select pg_catalog.array_agg(distinct o.restaurant_id) into changed from old_rows o;
  else
    select pg_catalog.array_agg(distinct x.restaurant_id) into changed
      from new_rows n join old_rows o on o.id = n.id,
           lateral (values (o.restaurant_id), (n.restaurant_id)) x(restaurant_id)
     where (o.restaurant_id, o.day_of_week, o.starts_at, o.ends_at)
           is distinct from (n.restaurant_id, n.day_of_week, n.starts_at, n.ends_at);
  end if;
  -- A restaurant being deleted takes its bookings with it: nothing to re-check then.
  insert into private.floor_plan_rechecks (restaurant_id, changed_at)
  select c.id, pg_catalog.clock_timestamp() from pg_catalog.unnest(changed) c(id)
   where exists (select 1 from public.restaurants r where r.id = c.id)
  on conflict (restaurant_id) do update set changed_at = excluded.changed_at, failures = 0;
  return null;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
