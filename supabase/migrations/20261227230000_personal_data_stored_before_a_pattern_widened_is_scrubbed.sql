-- Personal data stored before a pattern widened is scrubbed from every table that keeps text about bookings.
--
-- 20261227100000 widened the phone pattern (a number written in groups that begin like a date,
-- 0045-12-34-56-78) and scrubbed the review reasons already stored, but not the other places such a number had
-- passed the older pattern: state history (actor, reason, metadata), attempts (reason, metadata), events
-- (context), guest messages (last error, payload), shadow comparisons (candidate error), table holds (who
-- placed them) and the settings audit. Postgres does not check stored rows again when a CHECK's function
-- changes, and history lives as long as its booking. private.scrub_stored_personal_data() scrubs them now and
-- answers how many rows of each it changed; a later change to the patterns calls it again. Text is scrubbed as
-- on the way in; in a JSON document each string is (keys and structure kept), and one still flagged after
-- that (a key that names a guest's data) is replaced by {"personal_data_removed": true}. A table number the
-- pattern now flags (labels are unique, so it is not rewritten) is counted for an operator to rename: its
-- row's CHECK refuses every later change of the table until then.
-- It reads each of those tables once (the history lives with its bookings) and holds off no writer but those of
-- the rows it changes, which are few: on a large database the push takes as long as that read, without the
-- statement time limit a hosted project sets.

-- Every string of a document scrubbed, its keys and structure kept.
create function private.scrubbed_strings(p_doc jsonb)
returns jsonb language sql immutable set search_path = '' as $$
  select case pg_catalog.jsonb_typeof(p_doc)
    when 'object' then (select coalesce(pg_catalog.jsonb_object_agg(e.key, private.scrubbed_strings(e.value)), '{}'::jsonb)
                          from pg_catalog.jsonb_each(p_doc) e)
    when 'array' then (select coalesce(pg_catalog.jsonb_agg(private.scrubbed_strings(a.value) order by a.n), '[]'::jsonb)
                         from pg_catalog.jsonb_array_elements(p_doc) with ordinality a(value, n))
    when 'string' then pg_catalog.to_jsonb(private.scrub_personal_data(p_doc operator(pg_catalog.#>>) '{}'::text[]))
    else p_doc end;
$$;

create function private.scrubbed_jsonb(p_doc jsonb)
returns jsonb language plpgsql immutable set search_path = '' as $$
declare
  scrubbed jsonb;
begin
  if p_doc is null or not private.jsonb_has_personal_data(p_doc) then
    return p_doc;
  end if;
  scrubbed := private.scrubbed_strings(p_doc);
  if private.jsonb_has_personal_data(scrubbed) then
    return '{"personal_data_removed": true}'::jsonb;
  end if;
  return scrubbed;
end $$;

create function private.scrub_stored_personal_data()
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
  -- Its trigger scrubs what an update writes.
  update public.pipeline_settings_audit set actor = actor, reason = reason
   where private.text_has_personal_data(actor) or private.text_has_personal_data(reason);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('pipeline_settings_audit', n);
  update public.bookings set manual_review_reason = private.scrub_personal_data(manual_review_reason)
   where manual_review_reason is not null and private.text_has_personal_data(manual_review_reason);
  get diagnostics n = row_count;
  changed := changed || pg_catalog.jsonb_build_object('bookings', n);
  -- Counted, not changed: an operator renames them.
  return changed || pg_catalog.jsonb_build_object('restaurant_tables_to_rename',
    (select count(*) from public.restaurant_tables t where private.text_has_personal_data(t.table_number)));
end $$;
comment on function private.scrub_stored_personal_data() is
  'Scrub e-mail addresses and phone numbers, as the patterns find them now, from the stored text about bookings (state history, attempts, events, guest messages'' errors and payloads, shadow comparisons, who placed table holds, the settings audit, review reasons): for stored rows after a pattern widens. Answers how many rows of each table it changed, and restaurant_tables_to_rename: table numbers the patterns now flag, which it leaves to an operator (labels are unique). Reads each table once.';

set statement_timeout = 0;
do $$
declare
  changed jsonb := private.scrub_stored_personal_data();
begin
  -- Said where the push is read: by id (the label itself is what the pattern flags).
  if (changed ->> 'restaurant_tables_to_rename')::integer > 0 then
    raise warning 'rename these tables (restaurant id, table id): their numbers read as phone numbers now, and each refuses every change until renamed: %',
      (select pg_catalog.string_agg(t.restaurant_id || ' ' || t.id, ', ') from public.restaurant_tables t
        where private.text_has_personal_data(t.table_number));
  end if;
end $$;
reset statement_timeout;

revoke all on all routines in schema private from public, anon, authenticated;
