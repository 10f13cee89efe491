-- Scrubbing a chain of numbers takes time in proportion to the text, not to its square.
--
-- A phone number is one only standing alone (20261209080000), so in "12345678+12345678+…" each pass of
-- private.scrub_personal_data replaced one number: a chain of N numbers took N passes over the whole text. An
-- operator's reason of 18 KB so made took 1.9 s to scrub, one of 1 MB about two hours, and ops.assign_tables and
-- ops.accept_alternative scrub their reason under the restaurant lock (walk_assignment_states), holding every
-- booking of the restaurant back meanwhile; cancel_booking and transition_assignment_state hold the booking's
-- row (an attacker's review of what operators and the platform may type).
-- A number chained so starts with + or ( right after another's last digit, a start the phone pattern's
-- look-behind refuses. After eight passes, every such number goes in one (private.chained_number_pattern), and
-- the chain's first, standing alone, in the pass after; a replacement holds no digit, so it chains nothing. A
-- + or ( after a digit is the only start that pattern tries, so it reads each run of digits once: a first cut,
-- the phone pattern without its look-behind, tried its look-aheads at every digit of a long run and was
-- quadratic in turn (a re-read found it: 200,000 digits took 108 s). Only text that needs more than eight
-- passes is scrubbed so, and then a version's build stamp ("1.0.0+20260101123456") reads as a number too.
-- shared/telemetry/personal-data.ts is its twin (a test compares the patterns, and the scrubbed texts of such
-- chains).
-- private.scrub_personal_data: body as in 20261209080000, with the bound.

create function private.chained_number_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<=[0-9])(?:\+\(?|\()[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])';
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
      t := pg_catalog.regexp_replace(t, private.chained_number_pattern(), '[number]', 'g');
    end if;
  end loop;
  return t;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
