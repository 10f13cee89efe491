-- The pipeline's settings row cannot be deleted, and its retry waits are bounded.
--
-- Every bound the pipeline keeps (the concurrency limit, the breaker, the retries and dispatches a booking
-- gets before review, the sweep's batch) is read from the single row of private.pipeline_settings. With
-- that row deleted, each comparison with a missing setting is null, so none of them held: the sweep
-- re-dispatched every waiting booking for ever without escalating it, the limit and the breaker were off,
-- failing attempts were retried at once without end (an attacker's review of "nothing stuck"). Nothing
-- stopped an owner's DELETE or TRUNCATE in Studio; now a trigger refuses both (AS005), saying to change
-- the settings instead. The row can still be updated, within its CHECKs.
--
-- retry_base_ms and retry_max_ms had no upper bound: a failed attempt's retry could be put off for 24
-- days, and a retry_max_ms within a second of 2^31 ms overflowed the backoff's integer, so every failure
-- and expired lease raised. Both are now at most an hour (the longest a guest message waits between
-- tries); a row set beyond that is brought down to it first. (rate_limited_delay_ms needs no such bound: a
-- queued booking's timer never runs past its deferral's end, max_deferral_seconds after it began.)

update private.pipeline_settings
   set retry_base_ms = least(retry_base_ms, 3600000), retry_max_ms = least(retry_max_ms, 3600000)
 where retry_max_ms > 3600000;

alter table private.pipeline_settings add constraint retry_max_is_at_most_1_hour check (retry_max_ms <= 3600000);

create function private.keep_pipeline_settings()
returns trigger language plpgsql set search_path = '' as $$
begin
  raise exception using errcode = 'AS005',
    message = 'the pipeline''s settings row cannot be deleted: every limit, retry and breaker reads it',
    hint = 'change a setting with an update of private.pipeline_settings, or the ops.set_* calls';
end $$;

create trigger keep_the_settings_row before delete on private.pipeline_settings
  for each row execute function private.keep_pipeline_settings();
create trigger keep_the_settings_rows before truncate on private.pipeline_settings
  for each statement execute function private.keep_pipeline_settings();

revoke all on all routines in schema private from public, anon, authenticated;
