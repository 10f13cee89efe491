-- A plan cached while bookings was small never reads the whole table once it has grown.
--
-- PL/pgSQL caches each statement's plan for the life of the connection: after five calls, a generic plan made
-- with the statistics of that moment, kept until an ANALYZE of bookings replaces it. One made while the table
-- held a few hundred rows (a new project's first minutes, or a table that grew faster than autovacuum, a
-- minute apart at best, analysed it) may read it sequentially, and costs more with every booking inserted:
-- - the count of a restaurant's slots at every insert (private.slots_taken) read every booking of every
--   restaurant, as its LIMIT made a sequential read look cheap while the table was small;
-- - the wake of a freed slot updated its bookings by id with a read of the whole table (private.wake_bookings:
--   an id list of unknown length was costed as ten lookups, more than reading ten pages);
-- - a claim that found nothing read the whole table once more for a restaurant it was not asked about
--   (private.wake_stranded_queues: a generic plan cannot tell that the restaurant is null).
-- In the overload benchmark (scripts/bench-pipeline --profile overload --rate 90, from an empty database) that
-- was 14,433 sequential reads of 93.8 million rows for 10,800 bookings, and 4.1 ms of statement time an insert
-- while bookings were offered (with auto_explain sampling plans), against 1.2 ms in the same run with this.
-- Every read of bookings in the functions that count and wake a restaurant's queue, and in the triggers that
-- call them, is by id, by restaurant or by queue order, each with its index, so they plan without sequential
-- reads (queue_is_served, a SQL function planned at each call, alike: its reads are of the same kind); a table
-- without an index to use, such as the one-row settings, is still read as before. Without JIT too: with
-- sequential reads off, such a one-row read is costed high enough to be compiled, which took 56 ms a statement
-- here; these statements never gain from it.

alter function private.slots_taken(uuid, timestamptz) set enable_seqscan = off set jit = off;
alter function private.queue_head(uuid, integer, timestamptz) set enable_seqscan = off set jit = off;
alter function private.queue_is_served(uuid, timestamptz) set enable_seqscan = off set jit = off;
alter function private.wake_bookings(uuid[], timestamptz) set enable_seqscan = off set jit = off;
alter function private.wake_stranded_queues(timestamptz, uuid) set enable_seqscan = off set jit = off;
-- The triggers: a new booking's place in its restaurant's queue, and the wake when a booking leaves its slot.
alter function private.prepare_new_booking() set enable_seqscan = off set jit = off;
alter function private.wake_next_deferred() set enable_seqscan = off set jit = off;
