-- A phone number or an e-mail address in a transition's metadata stays out of its event.
--
-- A review of the personal-data checks found that private.metadata_for_event, which turns the metadata a
-- caller passes to public.transition_assignment_state into what its event may carry, kept every number and
-- every key shaped as one token. The call refuses metadata whose strings hold a phone number or an address,
-- but its check (private.jsonb_has_personal_data, which the tables' CHECKs share) reads keys only for words
-- that name a guest's data, and numbers not at all, so a platform's {"callback": 12125550100} or
-- {"+12125550100": "rang"} reached public.observability_events, which outlive the booking, as given. Now a
-- number, or a key, that reads as a phone number or an e-mail address (private.text_has_personal_data, the
-- project's one definition) is handled as words are: a value reads free_text, an entry under such a key is
-- left out and counted in free_text_keys. The shared check is left as it is: the events the pipeline writes
-- carry counts that can grow to eight digits (the rows retention.pruned says it deleted), which a CHECK that
-- read numbers would refuse. The history keeps the metadata as given, with the booking, as the call's comment
-- (as 20261210120000 left it) says. The trigger's WHEN clause, which spares the pipeline's own metadata the
-- call, also lets through eight digits with at most two characters between each (the shape of every phone
-- number the pattern finds), an @ and a number of eight digits or more, in the same two walks of the document
-- as before. Bodies as in 20261209010000 otherwise.

create or replace function private.metadata_for_event(p_value jsonb)
returns jsonb language plpgsql immutable set search_path = '' as $$
begin
  return case pg_catalog.jsonb_typeof(p_value)
    -- A key that is not a token is words too: its entry is left out, and counted.
    when 'object' then (select coalesce(pg_catalog.jsonb_object_agg(e.key, private.metadata_for_event(e.value))
                                          filter (where e.token), '{}'::jsonb)
                               || case when bool_and(e.token) is false
                                       then pg_catalog.jsonb_build_object('free_text_keys', count(*) filter (where not e.token))
                                       else '{}'::jsonb end
                          from (select j.key, j.value,
                                       j.key ~ private.metadata_token_pattern()
                                       and not private.text_has_personal_data(j.key) as token
                                  from pg_catalog.jsonb_each(p_value) j) e)
    when 'array' then (select coalesce(pg_catalog.jsonb_agg(private.metadata_for_event(e.value) order by e.n), '[]'::jsonb)
                         from pg_catalog.jsonb_array_elements(p_value) with ordinality e(value, n))
    when 'string' then case when (p_value #>> '{}') ~ private.metadata_token_pattern()
                                 and not private.text_has_personal_data(p_value #>> '{}') then p_value
                            else '"free_text"'::jsonb end
    when 'number' then case when private.text_has_personal_data(p_value #>> '{}') then '"free_text"'::jsonb
                            else p_value end
    else p_value end;
end $$;

create or replace trigger transition_event_carries_the_code
  before insert on public.observability_events
  for each row when (new.event_type = 'booking.assignment_state_transition' and (
    new.context ? 'reason'
    or pg_catalog.jsonb_path_exists(new.context -> 'metadata',
         'strict $.** ? (@.type() == "string" && (!(@ like_regex "^[A-Za-z0-9_.:+#/-]{0,64}$") || @ like_regex "@|[0-9]([^0-9]{0,2}[0-9]){7}")
                         || @.type() == "number" && (@ >= 10000000 || @ <= -10000000))')
    or pg_catalog.jsonb_path_exists(new.context -> 'metadata',
         'strict $.** ? (@.type() == "object").keyvalue() ? (!(@.key like_regex "^[A-Za-z0-9_.:+#/-]{0,64}$") || @.key like_regex "@|[0-9]([^0-9]{0,2}[0-9]){7}")')))
  execute function private.transition_event_carries_the_code();

comment on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text) is
  'Move a booking to another assignment state (capacity_verified, assignment_pending, manual_review or cancelled). Fails with AS001 (illegal transition, or a booking whose party has arrived or finished, which only cancelling moves), AS002 (stale expected version), AS003 (unknown booking), AS005 (bad argument) or AS010 (assignment_in_progress, assigned and confirmed are reached only through the coordinator or ops.assign_tables); on success returns {booking_id, from, to, version} and has written the history row and the booking.assignment_state_transition event. A booking sent back to assignment_pending is due at once. The reason is kept with the booking only (its history, and manual_review_reason), with e-mail addresses and phone numbers replaced by [email] and [number]; the event carries its code, or free_text and its length. The metadata is kept as given in the history; in the event every string value that is not a single token (a code, a table number, a time stamp), and every number that reads as a phone number, reads free_text, and entries whose key is not a token, or reads as a phone number or an e-mail address, are left out (counted in free_text_keys).';

revoke all on all routines in schema private from public, anon, authenticated;
