-- Phone numbers and e-mail addresses written in more ways are personal data.
--
-- A review of the personal-data checks found formats a platform or an operator could send that the
-- patterns passed, so that such text typed into a reason, an actor or metadata was stored and logged as it
-- was: a number with Unicode dashes or the minus sign between its groups (212–555–0100, U+2011, U+2212),
-- with characters that show nothing between them (a zero-width space), with an extension glued on
-- (212-555-0100x12, ext.12), or glued to Tel., Ph., Fax. or Mob. (Tel.2125550100), and an address whose
-- top-level domain is internationalised (jan@example.рф). The patterns now find them. Only the ASCII
-- hyphen glues a word and a number into a reference (ABC-12345678), as before: with another dash, as prose
-- writes it, the number stands alone (Maria—0612345678, 212-555-0100—ask). A range of dates or of
-- date-times written with any dash is still no number (2030-01-07–2030-01-08, 2030-01-07 19:00–2030-01-07
-- 21:00): a match starts neither at a time's minutes (after a digit and a colon, two digits) nor at a
-- date's month and day or its day where the date ends (after a year and a dash, or a year, a month and
-- their dashes); and a date followed by a time written otherwise (9:30, 19:, (19:00), 19.00, 19h30, 7pm)
-- is a date too, in brackets or not ((2030-01-07), which the pattern before read as a number), with a
-- hyphen as with any dash. That costs numbers whose first group of one or two digits follows a digit and a
-- colon (1:02 123 45 67, phone1:06-12345678, Table 4:1-800-555-0100; Option 2:06 12 34 56 78 leaves the
-- 06), and numbers glued to a time by the ASCII hyphen or a dot (19:30-0612345678, 19:30.212-555-0100).
-- Left as they were, as they would read too much else as phone numbers: three characters between two
-- groups (212 - 555 - 0100; also time ranges such as 1900 - 2130 and log lines such as 200 - 123456
-- bytes), slashes (dates such as 12/05/2026), and a number glued to any other word with a dot, an
-- underscore or nothing (versions such as 5.4.0-dev.20231215, hotel.12345678, booking_12345678). As with a
-- hyphen before, numbers joined by any dash read as one: a time range without a colon (19.00–21.00,
-- 1900–2130), a range of years (2029–2030), a date glued to a day (2030-01-07–08) or written day first
-- (07–01–2030). shared/telemetry/personal-data.ts holds the twins (a test compares them).
--
-- The JSON check's fast path (20261207000000) looks for the widened pattern's core, eight digits joined by
-- at most two separators of the widened set; its argument holds otherwise: a date with other dashes is not
-- ASCII, so it is never left out of the look, and the phone pattern still never starts just after a digit,
-- a hyphen, a '+' or a letter, nor after a dot that does not follow one of those four words. The
-- transition event's trigger (20261231030000) needs no change: a metadata key or string that is a token
-- holds no other dash and no character that shows nothing, and its look for eight digits already allows
-- any two characters between them.
--
-- What is stored already and the widened patterns call personal data is scrubbed
-- (private.scrub_stored_personal_data, 20261227230000), or every later change of its row would fail its
-- CHECK; a table number they now flag is named for an operator to rename. A metadata key of a transition's
-- event stored since 20261231030000 that reads as a number only under the widened patterns (Tel.2125550100
-- as a key) is not rewritten (events are pruned after 30 days).
--
-- Bodies as in 20261204010000 (email_pattern, phone_pattern; phone_pattern as in 20261227100000),
-- 20261228080000 (chained_number_pattern) and 20261207000000 (jsonb_has_personal_data), with those
-- changes.

create or replace function private.email_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '[^\][ \t\n\r\f\v@/:;,<>()"'']+@[^\][ \t\n\r\f\v@/:;,<>()"''.]+(?:\.[^\][ \t\n\r\f\v@/:;,<>()"''.]+)*\.[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u1FFF\u3040-\uD7FF]{2,}';
end $$;

create or replace function private.phone_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<![A-Za-z0-9_+-])(?:(?<![0-9]{4}[\u2010-\u2015\u2212-])|(?![0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?:[T ] ?\(?[0-9]{1,2}(?::|[.hH][0-9]{2}(?![0-9])| ?[aApP][mM])|(?![ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9])|(?=[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{1,2}[0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?![0-9])))))(?:(?<![0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-])|(?![0-9]{2}(?:[T ] ?\(?[0-9]{1,2}(?::|[.hH][0-9]{2}(?![0-9])| ?[aApP][mM])|(?![ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9])|(?=[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{1,2}[0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?![0-9])))))(?:(?<![0-9]:)|(?=[+(]|[0-9]{3}))(?:(?<![.])|(?<=(?:[Tt][Ee][Ll]|[Pp][Hh]|[Ff][Aa][Xx]|[Mm][Oo][Bb])[.])(?<![A-Za-z0-9_](?:[Tt][Ee][Ll]|[Pp][Hh]|[Ff][Aa][Xx]|[Mm][Oo][Bb])[.]))(?!\(?[0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?:[T ] ?\(?[0-9]{1,2}(?::|[.hH][0-9]{2}(?![0-9])| ?[aApP][mM])|(?![ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9])|(?=[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{1,2}[0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?![0-9]))))(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9]){7,}(?!(?!(?:[xX]|[eE][xX][tT][.]?) ?[0-9])[A-Za-z0-9_]|-[A-Za-z0-9])';
end $$;

create or replace function private.chained_number_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<=[0-9])(?:\+\(?|\()[0-9](?:[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9]){7,}(?!(?!(?:[xX]|[eE][xX][tT][.]?) ?[0-9])[A-Za-z0-9_]|-[A-Za-z0-9])';
end $$;

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
         operator(pg_catalog.!~) '@|[0-9](?:[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9]){7,}' then
    return false;
  end if;
  return private.jsonb_personal_data_scan(doc);
end $$;


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
