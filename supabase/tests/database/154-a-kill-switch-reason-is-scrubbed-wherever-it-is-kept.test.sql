-- A kill switch's reason is scrubbed wherever it is kept (20261231340000): in the settings row and in the
-- settings audit's copies of the values that changed, whoever writes them (ops.set_kill_switch as service_role
-- calls it, an owner writing the row in Studio), and when stored under an older pattern, by the scrub a
-- widening of the patterns runs.
begin;
select plan(10);

-- From the switch released, whatever a filled database left it at.
update private.rollout_settings set kill_switch = false, kill_switch_reason = null;
select coalesce(max(id), 0) as first_audit from public.pipeline_settings_audit \gset

-- Written under the pattern before 20261231050000, which let a number glued to Tel. pass.
select tests.use_older_phone_pattern();
set local role service_role;
select ops.set_kill_switch(true, 'ana', 'outage, call Tel.2125550100') is not null as pulled \gset
select ops.set_kill_switch(false, 'ana', 'fixed') is not null as released \gset
select ops.set_kill_switch(true, 'ana', 'again, Tel.2125550100') is not null as pulled_again \gset
reset role;
select tests.restore_phone_pattern();

select ok(private.text_has_personal_data((select kill_switch_reason from private.rollout_settings))
          and exists (select 1 from public.pipeline_settings_audit a
                       where a.id > :first_audit and private.jsonb_has_personal_data(a.new_value)),
  'stored under the older pattern, the settings row and the audit''s values hold a number the widened one finds');

select private.scrub_stored_personal_data() as changed \gset
select is((:'changed'::jsonb ->> 'rollout_settings')::int, 1, 'the scrub a widening runs changes the settings row');
select cmp_ok((:'changed'::jsonb ->> 'pipeline_settings_audit')::int, '>=', 3,
  'and the audit rows that held the number, in their reason or in their values (each pull''s new value, the release''s old one)');
select is((select kill_switch_reason from private.rollout_settings), 'again, Tel.[number]',
  'the reason kept in the settings row is scrubbed as on the way in');
select is((select array_agg(array[a.old_value #>> '{}', a.new_value #>> '{}'] order by a.id)
             from public.pipeline_settings_audit a
            where a.id > :first_audit and a.setting = 'kill_switch_reason'),
  array[[null, 'outage, call Tel.[number]'], ['outage, call Tel.[number]', null], [null, 'again, Tel.[number]'],
        ['again, Tel.[number]', 'again, Tel.[number]']],
  'the audit''s copies are scrubbed, and the scrub of the row is itself a change the audit records');
select is((private.scrub_stored_personal_data() -> 'rollout_settings')::int
          + (private.scrub_stored_personal_data() -> 'pipeline_settings_audit')::int, 0,
  'run again, it finds nothing left to change');

-- An owner pulls the switch by writing the row in Studio.
update private.rollout_settings set kill_switch = true, kill_switch_reason = 'guest Maria +44 7700 900123 complained';
select is((select kill_switch_reason from private.rollout_settings), 'guest Maria [number] complained',
  'a reason written to the row directly is scrubbed on the way in');
select is((select a.new_value #>> '{}' from public.pipeline_settings_audit a
            where a.setting = 'kill_switch_reason' order by a.id desc limit 1),
  'guest Maria [number] complained', 'and so is the audit''s copy of it');

-- Any value the audit keeps, whoever writes it.
insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value)
values ('ana', 'ana@bistro.example', 'global', 'note', '{"said": "jan@example.com"}', '"call 212-555-0100"');
select is((select array[to_jsonb(a.database_role), a.old_value, a.new_value] from public.pipeline_settings_audit a
            order by a.id desc limit 1),
  array['"[email]"', '{"said": "[email]"}', '"call [number]"']::jsonb[],
  'a value written to the audit directly is scrubbed, and so is a login role named for a person');

set local role service_role;
select coalesce(jsonb_agg(jsonb_build_array(a.old_value, a.new_value)), '[]') as seen
  from public.pipeline_settings_audit a where a.id > :first_audit \gset
reset role;
select ok(jsonb_array_length(:'seen'::jsonb) >= 9 and not private.jsonb_has_personal_data(:'seen'::jsonb),
  'the audit service_role reads through the Data API holds none of it');

select * from finish();
rollback;
