-- A restaurant is deleted with everything of it. Its tables and bookings go with it (ON DELETE CASCADE), but a
-- restaurant whose bookings held any table could not be deleted: the cascade removed the tables before the
-- bookings' holds, and the holds' reference to their table was checked in between (found while testing the
-- floor-plan re-plan of 20261210140000). The reference is now checked when the transaction commits, once every
-- cascade has run; deleting a single table that bookings hold or held is refused then, as before.
alter table public.booking_table_assignments
  alter constraint assignment_table_belongs_to_the_restaurant deferrable initially deferred;
