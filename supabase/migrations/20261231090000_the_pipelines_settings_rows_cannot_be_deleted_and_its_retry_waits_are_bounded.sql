-- The pipeline's settings rows cannot be deleted, and its retry waits are bounded.
--
-- Every bound the pipeline keeps (the concurrency limit, the breaker, the retries and dispatches a booking
-- gets before review, the sweep's batch) is read from the single row of private.pipeline_settings. With
-- that row deleted, each comparison with a missing setting is null, so none of them held: the sweep
-- re-dispatched every waiting booking for ever without escalating it, the limit and the breaker were off,
-- failing attempts were retried at once without end (an attacker's review of "nothing stuck"). Its sibling
-- private.rollout_settings (the mode every restaurant runs, the kill switch, retention) left every
-- restaurant without a mode when deleted. Nothing stopped an owner's DELETE or TRUNCATE in Studio; now a
-- trigger refuses both (AS005), saying to change the settings instead. The rows can still be updated,
-- within their CHECKs.
--
-- retry_base_ms and retry_max_ms had no upper bound: a failed attempt's retry could be put off for 24
-- days, and a retry_max_ms within a second of 2^31 ms overflowed the backoff's integer, so every failure
-- and expired lease raised. Both are now at most an hour (the longest a guest message waits between
-- tries). rate_limited_delay_ms, the timer of a booking waiting for a slot, went through the same backoff:
-- it is now at most a day, the longest a deferral lasts (max_deferral_seconds). A row set beyond them is
-- brought down to them first.

update private.pipeline_settings
   set retry_base_ms = least(retry_base_ms, 3600000), retry_max_ms = least(retry_max_ms, 3600000),
       rate_limited_delay_ms = least(rate_limited_delay_ms, 86400000)
 where retry_max_ms > 3600000 or rate_limited_delay_ms > 86400000;

alter table private.pipeline_settings
  add constraint retry_max_is_at_most_1_hour check (retry_max_ms <= 3600000),
  add constraint rate_limited_delay_is_at_most_1_day check (rate_limited_delay_ms <= 86400000);

create function private.keep_settings_row()
returns trigger language plpgsql set search_path = '' as $$
begin
  raise exception using errcode = 'AS005',
    message = pg_catalog.format('the settings row of %s cannot be deleted: the pipeline reads it at every step',
                                tg_table_name),
    hint = 'change a setting with the ops.set_* calls, or an update of the row';
end $$;

create trigger keep_the_settings_row before delete on private.pipeline_settings
  for each row execute function private.keep_settings_row();
create trigger keep_the_settings_rows before truncate on private.pipeline_settings
  for each statement execute function private.keep_settings_row();
create trigger keep_the_settings_row before delete on private.rollout_settings
  for each row execute function private.keep_settings_row();
create trigger keep_the_settings_rows before truncate on private.rollout_settings
  for each statement execute function private.keep_settings_row();

revoke all on all routines in schema private from public, anon, authenticated;
