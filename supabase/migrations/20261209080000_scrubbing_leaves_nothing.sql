-- Scrubbing goes on until nothing that reads as personal data is left.
--
-- A phone number is 8 or more digits standing alone: not right after a letter, digit or + . _ -. So in
-- "+44 20 7946 0958+44 20 7946 0958…" only the first number matched; once it was replaced by [number], the
-- second stood alone and read as one. One pass could therefore leave personal data in its result, which a
-- table's personal-data check then refused (a property test of scrub_and_cut found it). Each pass replaces
-- what it finds with something shorter or as long and without digits or @, so the passes end. The same in
-- shared/telemetry/personal-data.ts (scrub). Body as in 20261204010000 otherwise.
create or replace function private.scrub_personal_data(p_text text)
returns text language plpgsql immutable set search_path = '' as $$
#variable_conflict use_column
declare
  t text := pg_catalog.normalize(p_text, 'NFKC');
begin
  if t is null then
    return null;
  end if;
  loop
    t := pg_catalog.regexp_replace(pg_catalog.regexp_replace(t, private.email_pattern(), '[email]', 'g'),
                                   private.phone_pattern(), '[number]', 'g');
    exit when not (t operator(pg_catalog.~) private.email_pattern() or t operator(pg_catalog.~) private.phone_pattern());
  end loop;
  return t;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
