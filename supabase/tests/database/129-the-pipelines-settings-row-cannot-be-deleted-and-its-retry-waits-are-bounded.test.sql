-- The pipeline's settings row cannot be deleted, and its retry waits are bounded (20261231090000): every bound
-- the pipeline keeps reads that row, so an owner's DELETE or TRUNCATE is refused (AS005); a failed attempt's
-- retry is put off an hour at most.
begin;
select plan(6);

select throws_ok($$ delete from private.pipeline_settings $$, 'AS005',
  'the pipeline''s settings row cannot be deleted: every limit, retry and breaker reads it',
  'the settings row cannot be deleted');
select throws_ok($$ truncate private.pipeline_settings $$, 'AS005', null, 'nor emptied by a truncate');
select is((select count(*)::int from private.pipeline_settings), 1, 'the row is still there');
select lives_ok($$ update private.pipeline_settings set retry_max_ms = 3600000 $$, 'an hour between retries is allowed');
select throws_ok($$ update private.pipeline_settings set retry_max_ms = 3600001 $$, '23514', null,
  'a retry is put off at most an hour');
select throws_ok($$ update private.pipeline_settings set retry_base_ms = 2147483000, retry_max_ms = 2147483647 $$,
  '23514', null, 'so the backoff can no longer overflow its integer');

select * from finish();
rollback;
