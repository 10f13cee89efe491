-- pg_net waits at least as long as the functions take to answer (20261231020000): the functions answer a nudge
-- at 4 s at the latest, so dispatch_timeout_ms below 5 s would make every slower attempt a failed dispatch in
-- ops.health. That a setting below 5 s is raised on upgrade is shown by scripts/migrations/upgrade.
begin;
select plan(2);

select throws_ok($$update private.pipeline_settings set dispatch_timeout_ms = 4999$$, '23514', null,
  'less than 5 s is refused');
update private.pipeline_settings set dispatch_timeout_ms = 60000;
select is((select dispatch_timeout_ms from private.pipeline_settings), 60000, 'up to a minute is taken');

select * from finish();
rollback;
