begin;
select plan(22);

-- 200 restaurants with fixed ids, so the rollout buckets are the same on every run.
insert into public.restaurants (id, name)
select md5('rollout-' || i)::uuid, 'Rollout ' || i from generate_series(1, 200) i;
create temp view fleet as select id from public.restaurants where name like 'Rollout %';

select is((select count(*)::int from fleet f, private.effective_mode(f.id) m where m.mode = 'v3'), 200,
  'a fresh install runs v3 everywhere (default v3 at 100%)');

select ops.set_default_mode('legacy', 'ana', 'phase 1 baseline');
select ops.set_rollout_percentage(0, 'ana', 'start from zero');
select is((select count(*)::int from fleet f, private.effective_mode(f.id) m where m.mode = 'legacy'), 200,
  'at 0% every restaurant takes the default mode');

select ops.set_rollout_percentage(10, 'ana', 'phase 5a');
create temp table at10 as select f.id from fleet f, private.effective_mode(f.id) m where m.mode = 'v3';
select ok((select count(*) from at10) between 10 and 32, format('about 10%% of 200 are in at 10%% (%s)', (select count(*) from at10)));
select ops.set_rollout_percentage(50, 'ana', 'phase 5b');
create temp table at50 as select f.id from fleet f, private.effective_mode(f.id) m where m.mode = 'v3';
select ok((select count(*) from at50) between 80 and 120, format('about half are in at 50%% (%s)', (select count(*) from at50)));
select is((select count(*)::int from at10 where id not in (select id from at50)), 0,
  'raising the percentage keeps every restaurant that was already in');
select is((select count(*)::int from fleet f where private.rollout_bucket(f.id, 'assignment-pipeline-v3') < 10),
  (select count(*)::int from at10), 'membership is exactly bucket < percentage');

-- Overrides, kill switch, off.
select id as r1 from at10 limit 1 \gset
select id as r2 from fleet where id not in (select id from at50) limit 1 \gset
select ops.set_restaurant_mode(:'r2', 'shadow', 'ana', 'shadow one restaurant');
select is((select mode from private.effective_mode(:'r2')), 'shadow', 'a restaurant override wins over the rollout');
select ops.set_kill_switch(true, 'ana', 'incident 42');
select is((select mode from private.effective_mode(:'r1')), 'legacy', 'the kill switch sends v3 restaurants to legacy');
select is((select mode from private.effective_mode(:'r2')), 'legacy', 'and overrides too');
select ops.set_restaurant_mode(:'r2', 'off', 'ana', 'closed for refurbishment');
select is((select mode from private.effective_mode(:'r2')), 'off', 'but a restaurant switched off stays off');
select ops.set_kill_switch(false, 'ana', 'incident resolved');
select is((select mode from private.effective_mode(:'r1')), 'v3', 'releasing the kill switch restores the rollout');
select ops.set_restaurant_mode(:'r2', null, 'ana', 'back to the rollout');
select is((select mode from private.effective_mode(:'r2')), 'legacy', 'clearing the override hands the restaurant back to the rollout');

-- Every change is audited with who, when, old → new and why.
select is((select count(*)::int from public.pipeline_settings_audit where setting = 'rollout_percentage'), 3,
  'three percentage changes were recorded');
select is((select array[old_value::text, new_value::text, actor, reason] from public.pipeline_settings_audit
            where setting = 'rollout_percentage' order by id limit 1),
  array['100', '0', 'ana', 'start from zero'], 'with the old and new value, the actor and the reason');
update private.pipeline_settings set max_attempts = 6;
select is((select actor from public.pipeline_settings_audit where setting = 'max_attempts'), 'postgres',
  'a direct UPDATE is audited too, under the database role');

-- Bad input is refused with a clear error and changes nothing.
select throws_ok($$select ops.set_rollout_percentage(101, 'ana')$$, 'AS005', 'percentage must be between 0 and 100',
  'percentages stay within 0–100');
select throws_ok($$select ops.set_default_mode('turbo', 'ana')$$, 'AS005', null, 'unknown modes are refused');
select throws_ok($$select ops.set_kill_switch(true, 'ana')$$, 'AS005', 'give a reason when pulling the kill switch',
  'the kill switch needs a reason');
select throws_ok($$select ops.set_rollout_percentage(20, '  ')$$, 'AS005', null, 'every change needs an actor');
select throws_ok($$select ops.set_max_parallel(0, 'ana')$$, 'AS005', 'max_parallel must be between 1 and 20',
  'max_parallel stays within 1–20');
select is((select rollout_percentage from private.rollout_settings), 50, 'refused changes left the settings alone');

-- Only operators reach these functions.
select is(
  (select count(*)::int from pg_proc p, unnest(array['anon', 'authenticated']) r(role)
    where p.pronamespace = 'ops'::regnamespace and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  0, 'anon and authenticated can execute no ops function');

select * from finish();
rollback;
