-- A phone number written in another script's digits, or with marks that show nothing between its digits, is
-- personal data.
--
-- The patterns read ASCII digits, and NFKC (which every check applies first) turns full-width and other
-- compatibility digits into them, but not the digits of other scripts: an operator on an Arabic, Persian,
-- Hindi or Thai keyboard types ٠٦١٢٣٤٥٦٧٨ or ۰۶۱۲۳۴۵۶۷۸ into a reason, a note or metadata, and the text was
-- stored and its event kept as given. Nor were the marks that set the direction of text (U+200E, U+200F,
-- U+061C, the embeddings and isolates), which a number copied from a right-to-left page carries between its
-- groups (0612‎345‎678 passed), nor the keycap and variation selectors of a number typed as emoji (0️⃣6️⃣1️⃣…).
-- Left open by the last reviews of the personal-data checks, and closed now.
-- private.personal_data_normalized is what the patterns read: NFKC, then every decimal digit of Unicode 16's
-- scripts as its ASCII digit (private.digit_zeros, the first of each run of ten; those NFKC maps too, since
-- Postgres' NFKC is of an older Unicode and leaves the newest, outlined digits, as they are) and none of what
-- shows nothing or only dresses the character before it (private.dropped_marks: Unicode's default-ignorable
-- characters but those the phone pattern already reads as separators, and the keycap). The text check, the scrub
-- and the JSON check's slow path read it; the fast path is ASCII only and sees none of them. A scrubbed text
-- has such digits in ASCII, as it had full-width ones. shared/telemetry/personal-data.ts holds the twins
-- (DIGIT_ZEROS, DROPPED_MARKS, normalized); a test compares them, character by character.
-- The transition event's trigger (20261231030000) needs no change: a string or key with such a digit or mark is
-- not ASCII, so never a token, and its event always goes through the check.
-- What is stored already and now reads as personal data is scrubbed (private.scrub_stored_personal_data), as
-- at each widening before.
-- Bodies as in 20261204000000 (text_has_personal_data), 20261228080000 (scrub_personal_data) and
-- 20261231050000 (jsonb_has_personal_data), but for what they normalise with.

create or replace function private.digit_zeros()
returns integer[] language sql immutable parallel safe set search_path = '' as $$
  select '{1632, 1776, 1984, 2406, 2534, 2662, 2790, 2918, 3046, 3174, 3302, 3430, 3558, 3664, 3792, 3872, 4160,
           4240, 6112, 6160, 6470, 6608, 6784, 6800, 6992, 7088, 7232, 7248, 42528, 43216, 43264, 43472, 43504,
           43600, 44016, 65296, 66720, 68912, 68928, 69734, 69872, 69942, 70096, 70384, 70736, 70864, 71248, 71360,
           71376, 71386, 71472, 71904, 72016, 72688, 72784, 73040, 73120, 73552, 90416, 92768, 92864, 93008,
           93552, 118000, 120782, 120792, 120802, 120812, 120822, 123200, 123632, 124144, 124401, 125264,
           130032}'::integer[]
$$;
comment on function private.digit_zeros() is
  'The code points of the digit zero of every script but ASCII (Unicode 16), each the first of a run of ten, 0 to 9; those NFKC maps too, as Postgres'' NFKC is of an older Unicode. As DIGIT_ZEROS in shared/telemetry/personal-data.ts.';

create or replace function private.dropped_marks()
returns integer[] language sql immutable parallel safe set search_path = '' as $$
  select '{{847, 847}, {1564, 1564}, {4447, 4448}, {6068, 6069}, {6155, 6159}, {8206, 8207}, {8234, 8238},
           {8289, 8303}, {8419, 8419}, {12644, 12644}, {65024, 65039}, {65440, 65440}, {65520, 65528},
           {113824, 113827}, {119155, 119162}, {917504, 921599}}'::integer[]
$$;
comment on function private.dropped_marks() is
  'First and last code point of each range of what shows nothing, or only dresses the character before it, and is dropped before the personal-data patterns read a text: every default-ignorable character of Unicode 16 but the separators the phone pattern reads (soft hyphen, zero-width space, non-joiner, joiner, word joiner, BOM), and the keycap. As DROPPED_MARKS in shared/telemetry/personal-data.ts.';

-- Built from the lists once per session (the planner folds an immutable call without arguments into a
-- constant): every digit of those scripts in order and what each is in ASCII, and a bracket expression of
-- the digits and the marks, and one of the marks.
create or replace function private.foreign_digits()
returns text language sql immutable parallel safe set search_path = '' as $$
  select pg_catalog.string_agg(pg_catalog.chr(z + d), '' order by z, d)
    from pg_catalog.unnest(private.digit_zeros()) z cross join pg_catalog.generate_series(0, 9) d
$$;
create or replace function private.foreign_digits_in_ascii()
returns text language sql immutable parallel safe set search_path = '' as $$
  select pg_catalog.repeat('0123456789', pg_catalog.cardinality(private.digit_zeros()))
$$;
create or replace function private.dropped_mark_class()
returns text language sql immutable parallel safe set search_path = '' as $$
  select '[' || pg_catalog.string_agg(pg_catalog.chr(m[i][1]) || '-' || pg_catalog.chr(m[i][2]), '' order by i) || ']'
    from (select private.dropped_marks() as m) x cross join pg_catalog.generate_subscripts(x.m, 1) i
$$;
create or replace function private.foreign_digit_or_mark()
returns text language sql immutable parallel safe set search_path = '' as $$
  select '[' || pg_catalog.string_agg(pg_catalog.chr(z) || '-' || pg_catalog.chr(z + 9), '' order by z)
         || pg_catalog.btrim(private.dropped_mark_class(), '[]') || ']'
    from pg_catalog.unnest(private.digit_zeros()) z
$$;

create or replace function private.personal_data_normalized(p_text text)
returns text language plpgsql immutable set search_path = '' as $$
declare
  t text;
begin
  -- ASCII text is as NFKC leaves it, and holds none of them.
  if pg_catalog.octet_length(p_text) = pg_catalog.length(p_text) then
    return p_text;
  end if;
  t := pg_catalog.normalize(p_text, 'NFKC');
  if t operator(pg_catalog.~) private.foreign_digit_or_mark() then
    t := pg_catalog.regexp_replace(
           pg_catalog.translate(t, private.foreign_digits(), private.foreign_digits_in_ascii()),
           private.dropped_mark_class(), '', 'g');
  end if;
  return t;
end $$;
comment on function private.personal_data_normalized(text) is
  'Text as the personal-data patterns read it: NFKC, every script''s decimal digits as ASCII ones, and none of the dropped marks. As normalized in shared/telemetry/personal-data.ts.';

create or replace function private.text_has_personal_data(p_text text)
returns boolean language plpgsql immutable security definer set search_path = '' as $$
declare
  t text := private.personal_data_normalized(p_text);
begin
  return t operator(pg_catalog.~) private.email_pattern() or t operator(pg_catalog.~) private.phone_pattern();
end $$;

create or replace function private.scrub_personal_data(p_text text)
returns text language plpgsql immutable set search_path = '' as $$
#variable_conflict use_column
declare
  t text := private.personal_data_normalized(p_text);
  passes integer := 0;
begin
  if t is null then
    return null;
  end if;
  loop
    t := pg_catalog.regexp_replace(pg_catalog.regexp_replace(t, private.email_pattern(), '[email]', 'g'),
                                   private.phone_pattern(), '[number]', 'g');
    exit when not (t operator(pg_catalog.~) private.email_pattern() or t operator(pg_catalog.~) private.phone_pattern());
    passes := passes + 1;
    if passes = 8 then
      t := pg_catalog.regexp_replace(t, private.chained_number_pattern(), '[number]', 'g');
    end if;
  end loop;
  return t;
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
               else private.personal_data_normalized(t) end)
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
  if (changed ->> 'restaurant_tables_to_rename')::integer > 0 then
    raise warning 'rename these tables (restaurant id, table id): their numbers read as phone numbers now, and each refuses every change until renamed: %',
      (select pg_catalog.string_agg(t.restaurant_id || ' ' || t.id, ', ') from public.restaurant_tables t
        where private.text_has_personal_data(t.table_number));
  end if;
end $$;
reset statement_timeout;

revoke all on all routines in schema private from public, anon, authenticated;
