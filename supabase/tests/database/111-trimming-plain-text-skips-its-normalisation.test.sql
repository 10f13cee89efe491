-- Trimming plain text skips its normalisation (20261228180000) and trims every text as before: the NFKC form
-- trimmed of white space and the invisible characters that read as none, for every character of the Basic
-- Multilingual Plane alone, around a word, and around a word of ASCII.
begin;
select plan(3);

create function pg_temp.before(p_text text) returns text language sql immutable as $$
  select pg_catalog.btrim(pg_catalog.normalize(p_text, 'NFKC'),
                          U&' \0009\000A\000B\000C\000D\0085\00A0\00AD\115F\1160\1680\180E\200B\200C\200D\2028\2029\2060\2061\2062\2063\2064\3164\FEFF');
$$;
create temp table chars as
  select chr(c) as ch from generate_series(1, 65535) c where c not between 55296 and 57343;

select is((select count(*)::int from chars where private.trimmed(ch) is distinct from pg_temp.before(ch)), 0,
  'each character alone trims as before');
select is((select count(*)::int from chars
            where private.trimmed(ch || 'ana' || ch) is distinct from pg_temp.before(ch || 'ana' || ch)), 0,
  'around a word too');
select is(array[private.trimmed(E'\t ana \n'), private.trimmed(null), private.trimmed(E' \t'), private.trimmed('ana maría')],
  array['ana', null, '', 'ana maría'], 'plain text is trimmed of its white space, null stays null');

select * from finish();
rollback;
