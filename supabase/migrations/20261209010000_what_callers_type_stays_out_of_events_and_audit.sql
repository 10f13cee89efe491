-- What an operator or a platform types is scrubbed, or kept out of the events, on every path that stores it.
--
-- A review found four places where text a caller passes was stored as typed:
--   * ops.reset_circuit_breaker wrote its actor and reason into the settings audit without the scrubbing
--     every other settings call gets from private.act_as, although operating.md says the rollout log is
--     scrubbed of e-mail addresses and phone numbers;
--   * ops.assign_tables and ops.accept_alternative stored the operator's p_actor as typed in
--     booking_table_assignments.assigned_by;
--   * a shadow comparison's candidate_error was cut to 500 characters before it was scrubbed, so an address
--     cut in half no longer matched the pattern and was kept (now private.scrub_and_cut, below);
--   * the metadata a caller of public.transition_assignment_state passes travelled into the
--     booking.assignment_state_transition event. Its personal-data check finds e-mail addresses, phone
--     numbers and keys that name a guest, but not a name or an address written inside a value
--     ({"note": "Maria Garcia, nut allergy"}), and events outlive the booking.
-- As in 20261203020000, the guarantees sit on the tables, whichever function writes them.

-- The settings audit: actor and reason scrubbed on the way in, and the rows already written scrubbed now.
create function private.scrub_settings_audit()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.actor := private.scrub_personal_data(new.actor);
  new.reason := private.scrub_personal_data(new.reason);
  return new;
end $$;
create trigger scrub_personal_data
  before insert or update of actor, reason on public.pipeline_settings_audit
  for each row execute function private.scrub_settings_audit();
update public.pipeline_settings_audit
   set actor = actor, reason = reason
 where private.text_has_personal_data(actor) or private.text_has_personal_data(reason);

-- Who placed a booking's tables: the coordinator's own rows (source auto) name it and are left alone, so the
-- hot path pays nothing; an operator's are scrubbed. Rows written before are left as they are: they live and
-- die with their booking, and scanning the whole table here would hold its lock for the scan.
create function private.scrub_assigned_by()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.assigned_by := private.scrub_personal_data(new.assigned_by);
  return new;
end $$;
create trigger scrub_assigned_by
  before insert or update of assigned_by on public.booking_table_assignments
  for each row when (new.source <> 'auto' and new.assigned_by is not null)
  execute function private.scrub_assigned_by();

-- Shortening a text for storage: scrub, cut before the word that would be split, scrub again (a cut can leave a
-- run of digits that reads as a phone number: see 20261209030000), until it fits.
create function private.scrub_and_cut(p_text text, p_max integer)
returns text language plpgsql immutable set search_path = '' as $$
declare
  t text := private.scrub_personal_data(p_text);
  cut text;
begin
  while pg_catalog.length(t) > p_max loop
    -- Whitespace spelled out as in the TypeScript twin (\s depends on the locale).
    cut := pg_catalog.regexp_replace(pg_catalog.left(t, p_max), '[ \t\n\r\f\v]*[^ \t\n\r\f\v]*$', '');
    -- One word longer than p_max is cut inside.
    t := private.scrub_personal_data(case when cut = '' then pg_catalog.left(t, p_max) else cut end);
  end loop;
  return t;
end $$;
comment on function private.scrub_and_cut(text, integer) is
  'p_text with e-mail addresses and phone numbers replaced, shortened to at most p_max characters by dropping whole words from the end (cutting inside a word only when it alone is longer), and scrubbed again after each cut (a cut can leave a run of digits that reads as a phone number). shared/telemetry/personal-data.ts scrubAndCut is its twin.';

-- A shadow comparison's error: scrubbed whole, then shortened. Body as in 20261204010000 otherwise. (Errors stored
-- before are the engine's own messages about a snapshot, which carries no guest data, so they are left.)
create or replace function private.record_shadow(b public.bookings, p_shadow jsonb)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
      primary_decision, candidate_decision, primary_tables, candidate_tables, score_diff, primary_ms, candidate_ms,
      candidate_error)
    select b.id, b.restaurant_id, p_shadow ->> 'experiment', p_shadow ->> 'primary_strategy',
           p_shadow ->> 'candidate_strategy', p_shadow ->> 'primary_decision', p_shadow ->> 'candidate_decision',
           coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'primary_tables') x), '{}'),
           coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'candidate_tables') x), '{}'),
           (p_shadow ->> 'score_diff')::numeric, (p_shadow ->> 'primary_ms')::numeric, (p_shadow ->> 'candidate_ms')::numeric,
           private.scrub_and_cut(p_shadow ->> 'candidate_error', 500)
     where p_shadow is not null and b.assignment_mode = 'shadow';
end $$;

-- A transition event's metadata carries values, not words: a string that is not a single token (a code such
-- as dispatch or scarcity_fit, a table number such as T12, a time stamp) becomes "free_text", and an entry
-- whose key is not a token is left out (counted in free_text_keys). The history row keeps the metadata as
-- given, with the booking. The pipeline's own metadata is tokens, but for table numbers an operator spelled
-- with a space ("Bar 1"), which the event then calls free_text; the WHEN clause (evaluated without calling
-- a function) lets the rest through untouched.
create function private.metadata_for_event(p_value jsonb)
returns jsonb language plpgsql immutable set search_path = '' as $$
begin
  return case pg_catalog.jsonb_typeof(p_value)
    -- A key that is not a token is words too: its entry is left out, and counted.
    when 'object' then (select coalesce(pg_catalog.jsonb_object_agg(e.key, private.metadata_for_event(e.value))
                                          filter (where e.token), '{}'::jsonb)
                               || case when bool_and(e.token) is false
                                       then pg_catalog.jsonb_build_object('free_text_keys', count(*) filter (where not e.token))
                                       else '{}'::jsonb end
                          from (select j.key, j.value, j.key ~ private.metadata_token_pattern() as token
                                  from pg_catalog.jsonb_each(p_value) j) e)
    when 'array' then (select coalesce(pg_catalog.jsonb_agg(private.metadata_for_event(e.value) order by e.n), '[]'::jsonb)
                         from pg_catalog.jsonb_array_elements(p_value) with ordinality e(value, n))
    when 'string' then case when (p_value #>> '{}') ~ private.metadata_token_pattern() then p_value
                            else '"free_text"'::jsonb end
    else p_value end;
end $$;

-- One token: letters, digits and the punctuation of codes, table numbers and time stamps, no spaces.
create function private.metadata_token_pattern()
returns text language sql immutable set search_path = '' as $$
  select '^[A-Za-z0-9_.:+#/-]{0,64}$';
$$;

create or replace function private.transition_event_carries_the_code()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.context ? 'reason' then
    new.context := (new.context - 'reason' - 'reason_chars') || private.reason_for_event(new.context ->> 'reason');
  end if;
  if new.context ? 'metadata' then
    new.context := pg_catalog.jsonb_set(new.context, '{metadata}', private.metadata_for_event(new.context -> 'metadata'));
  end if;
  return new;
end $$;
-- The pattern is spelled out in the WHEN clause, which cannot call a function of ours cheaply; a pgTAP test
-- holds it equal to private.metadata_token_pattern(). Events written before are left as they are (they age
-- out with the retention, 30 days by default): rewriting them here would hold the events table's lock for a
-- scan of all of it.
create or replace trigger transition_event_carries_the_code
  before insert on public.observability_events
  for each row when (new.event_type = 'booking.assignment_state_transition' and (
    new.context ? 'reason'
    or pg_catalog.jsonb_path_exists(new.context -> 'metadata',
         'strict $.** ? (@.type() == "string" && !(@ like_regex "^[A-Za-z0-9_.:+#/-]{0,64}$"))')
    or pg_catalog.jsonb_path_exists(new.context -> 'metadata',
         'strict $.** ? (@.type() == "object").keyvalue() ? (!(@.key like_regex "^[A-Za-z0-9_.:+#/-]{0,64}$"))')))
  execute function private.transition_event_carries_the_code();

comment on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text) is
  'Move a booking to another assignment state (capacity_verified, assignment_pending, manual_review or cancelled). Fails with AS001 (illegal transition), AS002 (stale expected version), AS003 (unknown booking), AS005 (bad argument) or AS010 (assignment_in_progress, assigned and confirmed are reached only through the coordinator or ops.assign_tables); on success returns {booking_id, from, to, version} and has written the history row and the booking.assignment_state_transition event. A booking sent back to assignment_pending is due at once. The reason is kept with the booking only (its history, and manual_review_reason), with e-mail addresses and phone numbers replaced by [email] and [number]; the event carries its code, or free_text and its length. The metadata is kept as given in the history; in the event every string value that is not a single token (a code, a table number, a time stamp) reads free_text, and entries whose key is not a token are left out (counted in free_text_keys).';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
