-- Personal data stored before a pattern widened is scrubbed from every table that keeps text about bookings
-- (20261227230000). Rows are written as they were before 20261227100000: under the older phone pattern, which
-- let a number written in groups that begin like a date pass.
begin;
select plan(8);

select tests.use_older_phone_pattern();

select tests.create_restaurant('Scrubbed later') as rid \gset
select tests.add_table(:'rid', 'S1', 4);
select tests.create_booking(:'rid', 2, '2030-10-07 19:00+00') as bid \gset
select tests.force_state(:'bid', 'manual_review', 'guest asked to be called on 0045-12-34-56-78') is null as reviewed \gset
insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
values ('assignment.ops', 'test.note', 'info', '{"note": "call 0045-12-34-56-78", "tables": 2}', :'rid', :'bid');
select ops.set_max_parallel(3, 'ana 0701-23-45 67', :'rid', 'rang from 0701-23-45 67') is not null as set \gset
insert into public.booking_assignment_attempts (booking_id, attempt_no, result, reason, metadata)
values (:'bid', 7, 'retry', 'no_table_fits: call 0045-12-34-56-78', '{"note": "call 0045-12-34-56-78", "tables": 2}');
insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
                                       primary_decision, candidate_decision, primary_ms, candidate_ms, candidate_error)
values (:'bid', :'rid', 'v3', 'legacy', 'scarcity_fit', 'assign', 'error', 1, 1, 'threw on 0045-12-34-56-78');
select tests.create_booking(:'rid', 2, '2030-10-08 19:00+00') as held \gset
select ops.assign_tables(:'held', array['S1'], 'ana 0701-23-45 67') ->> 'outcome' as seated \gset
update public.notification_outbox set last_error = 'mailer said: 0045-12-34-56-78 unknown' where booking_id = :'held';
select tests.add_table(:'rid', '0701-23-45 67', 2) is not null as odd_table \gset

-- The widened pattern back, as 20261227100000 left it: the rows now hold what it calls a phone number.
select tests.restore_phone_pattern();
select ok(exists (select 1 from public.booking_assignment_state_history h
                   where h.booking_id = :'bid' and private.text_has_personal_data(h.reason)),
  'stored under the older pattern, the history holds a number the widened one finds');

select private.scrub_stored_personal_data() as changed \gset
select is((select count(*)::int from jsonb_each_text(:'changed'::jsonb) c where c.value::int >= 1), 9,
  format('every table it reads had a row to scrub, and says how many (the odd table number to rename): %s', :'changed'));
select is((select reason from public.booking_assignment_state_history
            where booking_id = :'bid' and to_state = 'manual_review' order by version desc limit 1),
  'guest asked to be called on [number]', 'the history''s reason is scrubbed as on the way in');
select is((select context from public.observability_events where booking_id = :'bid' and event_type = 'test.note'),
  '{"note": "call [number]", "tables": 2}'::jsonb, 'an event''s context is scrubbed as text is');
select is(private.scrubbed_jsonb('{"note": ["call 0045-12-34-56-78"], "seq": 123456789, "at": "2030-10-07"}'),
  '{"note": ["call [number]"], "seq": 123456789, "at": "2030-10-07"}'::jsonb,
  'each string is scrubbed, keys, numbers and structure kept');
select is(private.scrubbed_jsonb('{"guest_email": "x"}'), '{"personal_data_removed": true}'::jsonb,
  'and a document still flagged after that (a key naming a guest''s data) is replaced');
select ok(not exists (select 1 from public.pipeline_settings_audit a
                       where private.text_has_personal_data(a.actor) or private.text_has_personal_data(a.reason)),
  'the settings audit is scrubbed');
select is((private.scrub_stored_personal_data() - 'restaurant_tables_to_rename'), '{"bookings": 0, "shadow_comparisons": 0, "notification_outbox": 0, "observability_events": 0, "pipeline_settings_audit": 0, "booking_table_assignments": 0, "booking_assignment_attempts": 0, "booking_assignment_state_history": 0, "rollout_settings": 0}'::jsonb,
  'run again, it finds nothing left to change');

select * from finish();
rollback;
