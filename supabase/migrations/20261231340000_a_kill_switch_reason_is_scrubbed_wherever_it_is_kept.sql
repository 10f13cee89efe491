-- A kill switch's reason is scrubbed wherever it is kept: in the settings row, and in the settings audit's
-- copies of the values that changed.
--
-- ops.set_kill_switch scrubs the reason it is given, but the audit trigger copies every changed field of the
-- settings row into old_value and new_value, and only the audit's actor and reason were scrubbed on the way in
-- and after a pattern widened (private.scrub_stored_personal_data, 20261227230000, run again by 20261231050000).
-- So a reason stored under an older pattern (Tel.2125550100, before 20261231050000) stayed in the settings row
-- and in the audit's new_value (and old_value, once the switch was released), which service_role reads through
-- the Data API (public.pipeline_settings_audit, ops.rollout_log) for the audit's retention, a year by default.
-- And an owner who pulls the switch by writing the row in Studio (update private.rollout_settings set
-- kill_switch = true, kill_switch_reason = '...') stored whatever was typed, in both places (an attacker's
-- review of retention and scrubbing).
--
-- Now, as for the other text the pipeline keeps, the guarantee sits on the tables, whoever writes them:
--   - the settings row scrubs kill_switch_reason on the way in (cut to 500 characters, as ops.set_kill_switch
--     cuts it);
--   - the audit scrubs old_value and new_value as it scrubs a document anywhere else (private.scrubbed_jsonb:
--     each string scrubbed, a document still flagged after that replaced), whichever setting they are of, and
--     the login role it names (a role may be named for a person: "ana@bistro.example"), scope and setting as
--     it scrubs the actor. The one other free-text setting, rollout_salt, is recorded scrubbed too where it
--     reads as personal data: its audit copy is then no longer the salt the buckets were drawn with, which
--     a salt without an address or a run of eight digits avoids;
--   - private.scrub_stored_personal_data, which the next widening of the patterns calls, scrubs both
--     (private.scrub_stored_settings, which now reads the audit once for all its text), and they are scrubbed
--     now.
-- A reason scrubbed in the settings row is a change of the row, so the audit records it (old and new values
-- both scrubbed, attributed to the login role that ran the scrub).
--
-- private.scrub_settings_audit: as in 20261223000000, with the login role, scope, setting and values. private.scrub_stored_personal_data: as in
-- 20261227230000, with the settings.

-- The settings row's table first, then the audit's: the order every settings writer locks them in (the
-- audit's trigger runs after the row is written), so an operator's call during the deploy cannot deadlock
-- with it.
create function private.scrub_kill_switch_reason()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.kill_switch_reason := private.scrub_and_cut(new.kill_switch_reason, 500);
  return new;
end $$;
create trigger scrub_kill_switch_reason
  before insert or update of kill_switch_reason on private.rollout_settings
  for each row when (new.kill_switch_reason is not null)
  execute function private.scrub_kill_switch_reason();

create or replace function private.scrub_settings_audit()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.actor := private.scrub_and_cut(new.actor, 200);
  new.database_role := private.scrub_and_cut(new.database_role, 200);
  new.scope := private.scrub_and_cut(new.scope, 200);
  new.setting := private.scrub_and_cut(new.setting, 200);
  new.reason := private.scrub_and_cut(new.reason, 500);
  new.old_value := private.scrubbed_jsonb(new.old_value);
  new.new_value := private.scrubbed_jsonb(new.new_value);
  return new;
end $$;
drop trigger scrub_personal_data on public.pipeline_settings_audit;
create trigger scrub_personal_data
  before insert or update of actor, database_role, scope, setting, reason, old_value, new_value
  on public.pipeline_settings_audit
  for each row execute function private.scrub_settings_audit();

-- The settings row's reason and the audit's text, as the patterns find personal data now; answers how many rows of
-- each it changed.
create function private.scrub_stored_settings()
returns jsonb language plpgsql set search_path = '' as $$
declare
  settings integer;
  audit integer;
begin
  -- Their triggers scrub what an update writes.
  update private.rollout_settings set kill_switch_reason = kill_switch_reason
   where private.text_has_personal_data(kill_switch_reason);
  get diagnostics settings = row_count;
  update public.pipeline_settings_audit set actor = actor
   where private.text_has_personal_data(actor) or private.text_has_personal_data(reason)
      or private.text_has_personal_data(database_role) or private.text_has_personal_data(scope)
      or private.text_has_personal_data(setting)
      or private.jsonb_has_personal_data(old_value) or private.jsonb_has_personal_data(new_value);
  get diagnostics audit = row_count;
  return pg_catalog.jsonb_build_object('rollout_settings', settings, 'pipeline_settings_audit', audit);
end $$;

create or replace function private.scrub_stored_personal_data()
returns jsonb language plpgsql set search_path = '' as $$
declare
  n integer;
  changed jsonb := '{}'::jsonb;
begin
  update public.booking_assignment_state_history
     set actor = private.scrub_personal_data(actor), reason = private.scrub_personal_data(reason),
         metadata = private.scrubbed_jsonb(metadata)
   where private.text_has_personal_data(actor) or private.text_has_personal_data(reason)
      or private.jsonb_has_personal_data(metadata);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('booking_assignment_state_history', n);
  update public.booking_assignment_attempts
     set reason = private.scrub_personal_data(reason), metadata = private.scrubbed_jsonb(metadata)
   where private.text_has_personal_data(reason) or private.jsonb_has_personal_data(metadata);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('booking_assignment_attempts', n);
  update public.observability_events set context = private.scrubbed_jsonb(context)
   where private.jsonb_has_personal_data(context);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('observability_events', n);
  update public.notification_outbox
     set last_error = private.scrub_personal_data(last_error), payload = private.scrubbed_jsonb(payload)
   where private.text_has_personal_data(last_error) or private.jsonb_has_personal_data(payload);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('notification_outbox', n);
  update public.shadow_comparisons set candidate_error = private.scrub_personal_data(candidate_error)
   where private.text_has_personal_data(candidate_error);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('shadow_comparisons', n);
  update public.booking_table_assignments set assigned_by = private.scrub_personal_data(assigned_by)
   where source <> 'auto' and private.text_has_personal_data(assigned_by);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('booking_table_assignments', n);
  update public.bookings set manual_review_reason = private.scrub_personal_data(manual_review_reason)
   where manual_review_reason is not null and private.text_has_personal_data(manual_review_reason);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('bookings', n) || private.scrub_stored_settings();
  -- Counted, not changed: an operator renames them.
  return changed || pg_catalog.jsonb_build_object('restaurant_tables_to_rename',
    (select count(*) from public.restaurant_tables t where private.text_has_personal_data(t.table_number)));
end $$;
comment on function private.scrub_stored_personal_data() is
  'Scrub e-mail addresses and phone numbers, as the patterns find them now, from the stored text about bookings (state history, attempts, events, guest messages'' errors and payloads, shadow comparisons, who placed table holds, the settings audit''s actor, reason and values, the kill switch''s reason, review reasons): for stored rows after a pattern widens. Answers how many rows of each table it changed, and restaurant_tables_to_rename: table numbers the patterns now flag, which it leaves to an operator (labels are unique). Reads each table once.';

-- What the patterns of 20261231050000 find and its scrub left.
select private.scrub_stored_settings();

revoke all on all routines in schema private from public, anon, authenticated;
