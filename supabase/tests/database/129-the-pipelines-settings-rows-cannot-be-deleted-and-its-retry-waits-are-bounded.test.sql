-- The pipeline's settings rows cannot be deleted, and its retry waits are bounded (20261231090000): every bound
-- the pipeline keeps, and every restaurant's mode, reads those rows, so an owner's DELETE or TRUNCATE is
-- refused (AS005); a failed attempt's retry is put off an hour at most, a booking waiting for a slot a day.
begin;
select plan(10);

select throws_ok($$ delete from private.pipeline_settings $$, 'AS005',
  'the settings row of pipeline_settings cannot be deleted: the pipeline reads it at every step',
  'the pipeline''s settings row cannot be deleted');
select throws_ok($$ truncate private.pipeline_settings $$, 'AS005', null, 'nor emptied by a truncate');
select throws_ok($$ delete from private.rollout_settings $$, 'AS005',
  'the settings row of rollout_settings cannot be deleted: the pipeline reads it at every step',
  'nor the rollout''s');
select throws_ok($$ truncate private.rollout_settings $$, 'AS005', null, 'in either way');
select is(((select count(*) from private.pipeline_settings), (select count(*) from private.rollout_settings)),
  (1::bigint, 1::bigint), 'both rows are still there');
select lives_ok($$ update private.pipeline_settings set retry_max_ms = 3600000, rate_limited_delay_ms = 86400000 $$,
  'an hour between retries and a day of waiting for a slot are allowed');
select throws_ok($$ update private.pipeline_settings set retry_max_ms = 3600001 $$, '23514', null,
  'a retry is put off at most an hour');
select throws_ok($$ update private.pipeline_settings set retry_base_ms = 2147483000, retry_max_ms = 2147483647 $$,
  '23514', null, 'so the backoff can no longer overflow its integer');
select throws_ok($$ update private.pipeline_settings set rate_limited_delay_ms = 2147483500 $$, '23514', null,
  'nor through a slot''s wait, which goes through the same backoff');
select lives_ok($$ update private.rollout_settings set kill_switch = false $$, 'the rows can still be changed');

select * from finish();
rollback;
