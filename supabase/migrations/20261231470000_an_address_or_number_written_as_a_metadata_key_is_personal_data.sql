-- An e-mail address or a phone number written as a metadata key is personal data.
--
-- The JSON check read a document's keys only for words that name personal data (name, email, phone, …) and ran
-- the patterns over its string values, never over the keys' own text. So a platform's transition, as
-- service_role through the Data API, with metadata {"ada@example.com": "rang", "+12125550100": true} passed the
-- call's check and the history's CHECK, and the state history kept the address and the number for as long as
-- the booking lives (its event's copy was cleaned, 20261231030000). Found by an attacker's review of the
-- personal-data checks. Now the patterns read every key's text with the string values. The pipeline's own
-- keys are words (lock_wait_ms, trigger), which they never flag.
-- Left as it is: a number given as a JSON number, not a string, is not read as a phone number: the pipeline's
-- own contexts carry large counts (bytes, milliseconds), which would read as numbers.
-- What is stored already and now reads as personal data is scrubbed (private.scrub_stored_personal_data, as
-- each widening before): a document whose keys still carry it after its strings are scrubbed is replaced by
-- {"personal_data_removed": true}.
-- Body as in 20261207000000 but for the keys.
create or replace function private.jsonb_personal_data_scan(doc jsonb)
returns boolean language plpgsql immutable security definer set search_path = '' as $$
declare
  keys text[];
  strings text;
begin
  -- The document's keys, read once for both looks below.
  select pg_catalog.array_agg(k.key #>> '{}') into keys
    from pg_catalog.jsonb_path_query(doc, 'strict $.** ? (@.type() == "object").keyvalue().key') as k(key);
  if (select pg_catalog.string_agg(pg_catalog.lower(pg_catalog.regexp_replace(x, '[^[:alnum:]]', '', 'g')), '/')
        from pg_catalog.unnest(keys) x)
     operator(pg_catalog.~) '(^|/)(customer|guest|contact|diner|person|first|last|full|given|family|middle|sur)?(name|email|emailaddress|mail|phone|phonenumber|phoneno|mobile|mobilenumber|mobilephone|cell|cellphone|telephone|tel)(/|$)' then
    return true;
  end if;
  -- Every string value and every key as written, joined by a slash as the values were: it ends an address and
  -- joins no digits into a number, so two never run together.
  select pg_catalog.string_agg(s.text, '/') into strings
    from (select v.value #>> '{}' as text
            from pg_catalog.jsonb_path_query(doc, 'strict $.** ? (@.type() == "string")') as v(value)
          union all
          select pg_catalog.unnest(keys)) s;
  return coalesce(private.text_has_personal_data(strings), false);
end $$;
comment on function private.jsonb_personal_data_scan(jsonb) is
  'The full personal-data check of a JSON document (every key and string value); jsonb_has_personal_data calls it when its fast path cannot settle the document.';

set statement_timeout = 0;
do $$
declare
  changed jsonb := private.scrub_stored_personal_data();
begin
  if (changed ->> 'restaurant_tables_to_rename')::integer > 0 then
    raise warning 'rename these tables (restaurant id, table id): their numbers read as phone numbers now, and each refuses every change until renamed: %',
      (select pg_catalog.string_agg(t.restaurant_id || ' ' || t.id, ', ') from public.restaurant_tables t
        where private.text_has_personal_data(t.table_number));
  end if;
end $$;
reset statement_timeout;

revoke all on all routines in schema private from public, anon, authenticated;
