-- A platform writes bookings through the Data API, where PostgREST runs each request as `service_role`.
-- Three booking triggers call private helpers by name (the turn policy on insert and on a change of time or
-- party size, the concurrency limit on entering assignment_in_progress), and a trigger function runs as the
-- role that wrote the row: `service_role` has no USAGE on `private`, so its inserts and changes failed with
-- "permission denied for schema private". They worked for `postgres` only, and in a session where `postgres`
-- had run them first, because PL/pgSQL caches the plan in which the name was resolved.
--
-- They now run as their owner, as the pipeline's other booking triggers already do (dispatch_new_booking,
-- guard_assignment_state, reassign_changed_booking). Granting `service_role` USAGE on `private` instead would
-- open every private name to the API key and need EXECUTE on the helpers and SELECT on the settings tables
-- they read, each a way around the RPCs; a security definer trigger grants nothing callable (a trigger
-- function cannot be called directly) and behaves the same whoever writes the row. Each already pins
-- `search_path = ''` and qualifies every name.
alter function private.prepare_new_booking() security definer;
alter function private.reapply_turn_policy() security definer;
alter function private.enforce_max_parallel() security definer;
