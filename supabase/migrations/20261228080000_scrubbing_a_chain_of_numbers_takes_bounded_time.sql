-- Scrubbing a chain of numbers takes time in proportion to the text, not to its square.
--
-- A phone number is one only standing alone (20261209080000), so in "12345678+12345678+…" each pass of
-- private.scrub_personal_data replaced one number: a chain of N numbers took N passes over the whole text. An
-- operator's reason of 18 KB so made took 1.9 s to scrub, one of 1 MB about two hours, and ops.assign_tables and
-- ops.accept_alternative scrub their reason under the restaurant lock (walk_assignment_states), holding every
-- booking of the restaurant back meanwhile; cancel_booking and transition_assignment_state hold the booking's
-- row (an attacker's review of what operators and the platform may type).
-- After eight passes, whatever still reads as a number goes in one pass, whatever stands before it
-- (private.any_number_pattern: the phone pattern without its look behind), which leaves no number a pass could
-- find again: a replacement holds no digit, so it joins no run of them. Only text that needs more than eight
-- passes, a chain, is scrubbed so; dates, versions and UUIDs are still no numbers, but digits inside a word
-- ("ref12345678") are then replaced too. shared/telemetry/personal-data.ts is its twin (a test compares the
-- patterns, and the scrubbed texts of such chains).
-- private.scrub_personal_data: body as in 20261209080000, with the bound.

create function private.any_number_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?![0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:|(?![ \t\n\r\f\v().-]{0,2}[0-9])))(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])';
end $$;

create or replace function private.scrub_personal_data(p_text text)
returns text language plpgsql immutable set search_path = '' as $$
#variable_conflict use_column
declare
  t text := pg_catalog.normalize(p_text, 'NFKC');
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
      t := pg_catalog.regexp_replace(t, private.any_number_pattern(), '[number]', 'g');
    end if;
  end loop;
  return t;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
