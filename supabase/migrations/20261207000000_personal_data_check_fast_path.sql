-- The personal-data check of a JSON document, with a fast path for documents that cannot hold any
-- (issue: throughput). Every event, history row, attempt and guest message is checked on insert, about 15
-- documents per booking, and the full scan cost 50-75 µs each: two JSON path queries, each a statement of
-- its own. Most documents are small objects of counts, states and strategy names, and a look at their text
-- (about 6 µs) settles them:
--   * a key is flagged only when, stripped of all but letters and digits and lower-cased, it is one of the
--     listed words, each of which contains name, mail, phone, mobile, cell or tel. The document's text,
--     lower-cased, then holds that stem's letters with nothing but other characters than a-z and 0-9
--     between them (a superset of what stripping removes), which one regular expression looks for;
--   * a string value is flagged only when, normalised (NFKC), it holds an '@' (the e-mail pattern) or eight
--     digits joined by at most two separators (the core of the phone pattern, without the look-arounds that
--     only narrow it). A document's text shows its string values verbatim when it holds no backslash (JSON
--     escapes only quotes, backslashes and control characters); normalising the text normalises each value
--     alike (the quotes around a value compose with nothing), and an all-ASCII text is already normalised.
--     In an all-ASCII text, string values that are a whole date or time stamp (2030-01-07, 2030-01-07 19:00,
--     2030-01-07T19:00:00+00:00, as guest messages carry them) are left out of that look: the phone pattern
--     never starts at a date, nor just after a digit, a '-', a '+' or a letter, and no run of digits after a
--     ':' in them reaches eight.
-- Anything else takes the full scan, unchanged below. The integration property test checks that both give
-- the same verdict on generated documents. The argument leans on the e-mail and phone patterns as they are
-- (neither matches across a '/', the phone pattern never starts at a date or just after a digit, letter, '-'
-- or '+', and ':' is no separator) and on lower() mapping no character that stripping removes to a-z or 0-9
-- (true of the locales Postgres ships with; the property test runs on the cluster's own): a pgTAP test pins
-- both patterns, so changing one fails it and points back here.

create or replace function private.jsonb_personal_data_scan(doc jsonb)
returns boolean language plpgsql immutable security definer set search_path = '' as $$
declare
  keys text;
  strings text;
begin
  select pg_catalog.string_agg(pg_catalog.lower(pg_catalog.regexp_replace(k.key #>> '{}', '[^[:alnum:]]', '', 'g')), '/')
    into keys
    from pg_catalog.jsonb_path_query(doc, 'strict $.** ? (@.type() == "object").keyvalue().key') as k(key);
  if keys operator(pg_catalog.~) '(^|/)(customer|guest|contact|diner|person|first|last|full|given|family|middle|sur)?(name|email|emailaddress|mail|phone|phonenumber|phoneno|mobile|mobilenumber|mobilephone|cell|cellphone|telephone|tel)(/|$)' then
    return true;
  end if;
  select pg_catalog.string_agg(v.value #>> '{}', '/') into strings
    from pg_catalog.jsonb_path_query(doc, 'strict $.** ? (@.type() == "string")') as v(value);
  return coalesce(private.text_has_personal_data(strings), false);
end $$;
comment on function private.jsonb_personal_data_scan(jsonb) is
  'The full personal-data check of a JSON document (every key and string value); jsonb_has_personal_data calls it when its fast path cannot settle the document.';

create or replace function private.jsonb_has_personal_data(doc jsonb)
returns boolean language plpgsql immutable security definer set search_path = '' as $$
declare
  t text := doc::text;
begin
  if pg_catalog.strpos(t, '\') = 0
     and pg_catalog.lower(t) operator(pg_catalog.!~)
         '(n[^a-z0-9]*a[^a-z0-9]*m[^a-z0-9]*e|m[^a-z0-9]*a[^a-z0-9]*i[^a-z0-9]*l|p[^a-z0-9]*h[^a-z0-9]*o[^a-z0-9]*n[^a-z0-9]*e|m[^a-z0-9]*o[^a-z0-9]*b[^a-z0-9]*i[^a-z0-9]*l[^a-z0-9]*e|c[^a-z0-9]*e[^a-z0-9]*l[^a-z0-9]*l|t[^a-z0-9]*e[^a-z0-9]*l)'
     and (case when pg_catalog.octet_length(t) = pg_catalog.length(t)
               then pg_catalog.regexp_replace(t, '"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}(:[0-9]{2})?|Z)?)?"', '""', 'g')
               else pg_catalog.normalize(t, 'NFKC') end)
         operator(pg_catalog.!~) '@|[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}' then
    return false;
  end if;
  return private.jsonb_personal_data_scan(doc);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
