-- pg_net waits at least as long as the functions take to answer: dispatch_timeout_ms is 5 to 60 seconds.
--
-- A review of the functions' HTTP surface found that the setting allowed 1 second, while both functions
-- answer a nudge when their work is done or at 4 s (202, still processing or still sending), so that a long
-- attempt is not a failed dispatch. With 2 s set, every attempt slower than that (a lock wait, the exact
-- solver, a slow mailer) was recorded by pg_net as a request with no answer, and ops.health, which counts
-- those as failures, reported the coordinator's URL or secret as wrong while every booking was being
-- assigned. A setting below the new floor is raised to it (the settings audit records the change, by the role
-- that ran the migration).

update private.pipeline_settings set dispatch_timeout_ms = 5000, updated_at = pg_catalog.now()
 where dispatch_timeout_ms < 5000;

alter table private.pipeline_settings
  drop constraint dispatch_timeout_is_between_1_and_60_seconds,
  add constraint dispatch_timeout_is_between_5_and_60_seconds check (dispatch_timeout_ms between 5000 and 60000);
