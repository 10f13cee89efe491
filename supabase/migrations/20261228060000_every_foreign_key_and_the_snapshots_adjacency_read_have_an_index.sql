-- Every foreign key's referencing rows, and a restaurant's adjacency, are found through an index.
--
-- A review of the database after a year in production (millions of bookings) found lookups that no index
-- serves, each reading its whole table:
--   * a booking's holds, released ones included: the only index by booking was partial (released_at is null),
--     and the holds' foreign key to their booking deletes them in cascade, so deleting one booking (a guest
--     asking to be forgotten) read every hold ever written, and deleting a restaurant did so once per booking:
--     hours, holding its locks and the vacuum horizon the while. Likewise a table's holds, read by the
--     foreign key's check and private.guard_table_delete when a table is deleted (the holds' one index by
--     table is partial too), and a booking's or a restaurant's shadow comparisons and a restaurant's guest
--     messages, read when either is deleted;
--   * a restaurant's adjacency, which every snapshot reads (private.assignment_snapshot, table_groups,
--     replan_snapshot): table_adjacency was indexed by its tables only, so each booking's snapshot read every
--     restaurant's adjacency, a cost per booking that grew with each restaurant a platform took on.
-- The partial index by booking gives way to a whole one: a booking's released holds are few (one per move),
-- so reading its current holds through it costs nothing more. A table's holds are indexed with their
-- restaurant first, as the foreign key reads them (and private.guard_table_delete now does): an index led by
-- the table alone would offer private.busy_tables, which looks for holds on given tables over a time, every
-- hold those tables ever had, where the holds' index by table and time finds the few that overlap. pgTAP 98
-- asks the schema, for every foreign key, whether an index finds its referencing rows without reading the
-- table whole.
-- Building an index reads its table once and holds off writes to it until the migration commits: on a large
-- hosted database, build them first with CREATE INDEX CONCURRENTLY under the same names (docs/configuration.md),
-- and this migration keeps them (it refuses one such a build left invalid, which would otherwise pass for built
-- while finding nothing, or built on other columns, before it drops the partial index). It waits at most 10 s
-- for each table.
-- private.guard_table_delete: body as in 20261226080000, with the restaurant in its lookup.

set lock_timeout = '10s';
create index if not exists booking_table_assignments_every_booking_idx
  on public.booking_table_assignments (booking_id);
create index if not exists booking_table_assignments_every_table_idx
  on public.booking_table_assignments (restaurant_id, table_id);
create index if not exists table_adjacency_restaurant_idx on public.table_adjacency (restaurant_id);
create index if not exists shadow_comparisons_booking_idx on public.shadow_comparisons (booking_id);
create index if not exists shadow_comparisons_restaurant_idx on public.shadow_comparisons (restaurant_id);
create index if not exists notification_outbox_restaurant_idx on public.notification_outbox (restaurant_id);

-- A concurrent build that failed or was cut off leaves its index under the name, invalid, and one built by hand
-- may be on other columns: the lines above keep either, and nothing would find a booking's holds as it should
-- once the partial index is gone.
do $$
declare
  wrong text;
begin
  select pg_catalog.string_agg(e.name, ', ') into wrong
    from (values
      ('booking_table_assignments_every_booking_idx', 'public.booking_table_assignments USING btree (booking_id)'),
      ('booking_table_assignments_every_table_idx',
       'public.booking_table_assignments USING btree (restaurant_id, table_id)'),
      ('table_adjacency_restaurant_idx', 'public.table_adjacency USING btree (restaurant_id)'),
      ('shadow_comparisons_booking_idx', 'public.shadow_comparisons USING btree (booking_id)'),
      ('shadow_comparisons_restaurant_idx', 'public.shadow_comparisons USING btree (restaurant_id)'),
      ('notification_outbox_restaurant_idx', 'public.notification_outbox USING btree (restaurant_id)')) e(name, def)
    join pg_catalog.pg_class c on c.relname = e.name and c.relnamespace = 'public'::regnamespace
    join pg_catalog.pg_index i on i.indexrelid = c.oid
   where not i.indisvalid or pg_catalog.pg_get_indexdef(c.oid) <> pg_catalog.format('CREATE INDEX %s ON %s', e.name, e.def);
  if wrong is not null then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('index %s is invalid (a concurrent build that did not finish) or not as this migration builds it', wrong),
      hint = 'Drop it (drop index concurrently …) and build it again as docs/configuration.md gives it, or let this migration build it.';
  end if;
end $$;

create or replace function private.guard_table_delete()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  -- A restaurant being deleted (its row already gone in this transaction) takes its tables with it.
  if exists (select 1 from public.restaurants r where r.id = old.restaurant_id)
     and exists (select 1 from public.booking_table_assignments a
                  where a.restaurant_id = old.restaurant_id and a.table_id = old.id) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('table %s has been held by bookings and stays on record: take it out of use instead (active = false)',
                                  old.table_number),
      hint = 'Deleting the restaurant deletes its tables with it.';
  end if;
  return old;
end $$;

-- Last: dropping an index locks its table against reads too, until the migration commits.
drop index if exists public.booking_table_assignments_booking_idx;
reset lock_timeout;

revoke all on all routines in schema private from public, anon, authenticated;
