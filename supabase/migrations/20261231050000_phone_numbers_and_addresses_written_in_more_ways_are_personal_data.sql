-- Phone numbers and e-mail addresses written in more ways are personal data.
--
-- A review of the personal-data checks found formats a platform or an operator could send that the
-- patterns passed, so that such text typed into a reason, an actor or metadata was stored and logged as it
-- was: a number with Unicode dashes or the minus sign between its groups (212–555–0100, U+2011, U+2212),
-- with characters that show nothing between them (a zero-width space), with three characters between two
-- groups (212 - 555 - 0100), with an extension glued on (212-555-0100x12, ext.12), or glued to Tel., Ph.,
-- Fax. or Mob. (Tel.2125550100), and an address whose top-level domain is internationalised
-- (jan@example.рф). The patterns now find them. A range of dates or of times is still no number
-- (2030-01-07 – 2030-01-08, 2030-01-07 19:00 - 2030-01-07 21:00: a match no longer starts at the minutes
-- of a time), nor is a date followed by three separators and a count (2030-01-07 - 3 tables). Slashes
-- still do not separate the groups of a number, nor is a number glued to any other word with a dot, a
-- dash, an underscore or nothing a phone number: those would also read dates (12/05/2026), versions
-- (5.4.0-dev.20231215) and references (ABC-12345678, booking_12345678) as phone numbers.
-- shared/telemetry/personal-data.ts holds the twins (a test compares them).
--
-- The JSON check's fast path (20261207000000) looks for the widened pattern's core, eight digits joined by
-- at most three separators of the widened set; its argument holds otherwise: a date with other dashes is
-- not ASCII, so it is never left out of the look, and the phone pattern still never starts just after a
-- digit, a dash, a '+' or a letter, nor after a dot that does not follow one of those four words. The
-- transition event's trigger (20261231030000) looks for three separators too, or a phone number written so
-- in a metadata key would reach the event.
--
-- What is stored already and the widened patterns call personal data is scrubbed
-- (private.scrub_stored_personal_data, 20261227230000), or every later change of its row would fail its
-- CHECK; a table number they now flag is named for an operator to rename. A metadata key of a transition's
-- event stored since 20261231030000 that reads as a number only under the widened patterns is not
-- rewritten (events are pruned after 30 days).
--
-- Bodies as in 20261204010000 (email_pattern, phone_pattern; phone_pattern as in 20261227100000),
-- 20261228080000 (chained_number_pattern), 20261207000000 (jsonb_has_personal_data) and 20261231030000
-- (the trigger), with those changes.

create or replace function private.email_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '[^\][ \t\n\r\f\v@/:;,<>()"'']+@[^\][ \t\n\r\f\v@/:;,<>()"''.]+(?:\.[^\][ \t\n\r\f\v@/:;,<>()"''.]+)*\.[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u1FFF\u3040-\uD7FF]{2,}';
end $$;

create or replace function private.phone_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<![A-Za-z0-9_+\u2010-\u2015\u2212-])(?<![0-9]:)(?:(?<![.])|(?<=(?:[Tt][Ee][Ll]|[Pp][Hh]|[Ff][Aa][Xx]|[Mm][Oo][Bb])[.]))(?![0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?:[T ][0-9]{2}:|(?![ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,2}[0-9])|(?=[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{1,3}[0-9]{4}[\u2010-\u2015\u2212-][0-9]{2}[\u2010-\u2015\u2212-][0-9]{2}(?![0-9]))))(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{1,3}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,3}[0-9]){7,}(?!(?!(?:[xX]|[eE][xX][tT][.]?) ?[0-9])[A-Za-z0-9_]|[\u2010-\u2015\u2212-][A-Za-z0-9])';
end $$;

create or replace function private.chained_number_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<=[0-9])(?:\+\(?|\()[0-9](?:[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,3}[0-9]){7,}(?!(?!(?:[xX]|[eE][xX][tT][.]?) ?[0-9])[A-Za-z0-9_]|[\u2010-\u2015\u2212-][A-Za-z0-9])';
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
         operator(pg_catalog.!~) '@|[0-9](?:[ \t\n\r\f\v().\u00AD\u200B-\u200D\u2060\uFEFF\u2010-\u2015\u2212-]{0,3}[0-9]){7,}' then
    return false;
  end if;
  return private.jsonb_personal_data_scan(doc);
end $$;

create or replace trigger transition_event_carries_the_code
  before insert on public.observability_events
  for each row when (new.event_type = 'booking.assignment_state_transition' and (
    new.context ? 'reason'
    or pg_catalog.jsonb_path_exists(new.context -> 'metadata',
         'strict $.** ? (@.type() == "string" && (!(@ like_regex "^[A-Za-z0-9_.:+#/-]{0,64}$") || @ like_regex "@|[0-9]([^0-9]{0,3}[0-9]){7}")
                         || @.type() == "number" && (@ >= 10000000 || @ <= -10000000))')
    or pg_catalog.jsonb_path_exists(new.context -> 'metadata',
         'strict $.** ? (@.type() == "object").keyvalue() ? (!(@.key like_regex "^[A-Za-z0-9_.:+#/-]{0,64}$") || @.key like_regex "@|[0-9]([^0-9]{0,3}[0-9]){7}")')))
  execute function private.transition_event_carries_the_code();

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
