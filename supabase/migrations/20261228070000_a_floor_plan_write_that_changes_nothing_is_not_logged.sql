-- A floor-plan write that changes nothing is not logged as a change.
--
-- Every lease's rule digest and every snapshot's seating options count the restaurant's rows of
-- private.floor_plan_changes (20261205030000), a log only ever appended to and never pruned. An UPDATE of a
-- restaurant's tables, adjacency or service periods was logged even when it left every value as it was, so a
-- platform that synchronises its floor plan on a timer (an upsert of every table each minute, say) added half a
-- million rows a year per restaurant, and each booking's lease and snapshot counted them all: a cost per booking
-- growing with the restaurant's age, for no change (a review of the database at a year's scale). The re-check's
-- marks already skipped such writes (20261210140000).
-- An UPDATE is now logged for the restaurants whose rows it really changed: a row whose values, all but
-- updated_at (which the write itself stamps), differ from what it was. A rename still counts (seating options
-- name their tables). INSERT, DELETE, TRUNCATE and the time zone are logged as before; an insert or delete of no
-- row logs nothing, as before.
-- private.record_floor_plan_change: body as in 20261205030000, with that filter.

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

revoke all on all routines in schema private from public, anon, authenticated;
