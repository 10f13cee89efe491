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
-- so reading its current holds through it costs nothing more. pgTAP 98 asks the planner, for every foreign
-- key, whether its referencing rows can be found without reading the table whole.
-- Building an index reads its table once and holds off writes to it until the migration commits: on a large
-- hosted database, build them first with CREATE INDEX CONCURRENTLY under the same names (docs/configuration.md),
-- and this migration keeps them. It waits at most 10 s for each table.

set lock_timeout = '10s';
create index if not exists booking_table_assignments_every_booking_idx
  on public.booking_table_assignments (booking_id);
drop index if exists public.booking_table_assignments_booking_idx;
create index if not exists booking_table_assignments_every_table_idx on public.booking_table_assignments (table_id);
create index if not exists table_adjacency_restaurant_idx on public.table_adjacency (restaurant_id);
create index if not exists shadow_comparisons_booking_idx on public.shadow_comparisons (booking_id);
create index if not exists shadow_comparisons_restaurant_idx on public.shadow_comparisons (restaurant_id);
create index if not exists notification_outbox_restaurant_idx on public.notification_outbox (restaurant_id);
reset lock_timeout;
