-- Extensions the pipeline needs and the private schema that holds its internals.
-- `extensions` exists on hosted Supabase; locally scripts/local-stack creates it the same way.
create schema if not exists extensions;
create extension if not exists btree_gist with schema extensions;
-- pg_net carries the insert trigger's HTTP call. Hosted Supabase ships it; where it is not available (the
-- local stack) scripts/local-stack installs a stand-in with the same interface before migrations run.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end $$;

create schema if not exists private;
revoke all on schema private from public;
comment on schema private is
  'Internals of the table-assignment pipeline: helpers, triggers and the state-machine rules. Not exposed through the Data API.';
-- The operator's schema (its functions and views come with the ops migrations). Created here so the
-- default privileges below cover it from the start.
create schema if not exists ops;
revoke all on schema ops from public;

-- Revoke by default, grant by name. Supabase's default privileges give anon, authenticated and
-- service_role everything the migrating role creates in `public`, identity sequences included; every
-- object of ours then grants what it needs by name. These apply to objects this role creates from now on.
alter default privileges in schema public, private, ops revoke all on tables from anon, authenticated;
alter default privileges in schema public, private, ops revoke all on sequences from anon, authenticated;
alter default privileges in schema public, private, ops revoke all on functions from anon, authenticated;
-- Postgres itself lets PUBLIC (every role, anon included) execute each new function. That default is
-- global, and a per-schema default cannot take a global grant away, so it is revoked for this role as a
-- whole: a function the migrations forget to revoke stays closed instead of open.
alter default privileges revoke execute on functions from public;

-- True when `tz` names a time zone Postgres knows. Declared immutable so CHECK constraints may use it;
-- the zone database only changes with a Postgres upgrade.
create function private.is_known_time_zone(tz text)
returns boolean language sql immutable set search_path = '' as $$
  select exists (select 1 from pg_catalog.pg_timezone_names where name = tz);
$$;

-- Keeps `updated_at` honest on every row change.
create function private.touch_updated_at()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end $$;

-- Personal data (names, e-mail addresses, phone numbers) never reaches events, logs, history or reasons.
-- One definition of "looks like personal data", used by the CHECK constraints that reject it and by the
-- scrubber that removes it from free text before it is stored.
--
-- The patterns are shared/telemetry/personal-data.ts's, character for character (a test compares them), so
-- the functions' log scrubber and these constraints agree. In short: an e-mail address is local@dotted.domain
-- with no slash, colon or bracket in either part (a URL with an @scope path is not one); a phone number is
-- 8 or more digits standing alone, at most two separators apart (dates, UUIDs, versions and decimals are not).
create function private.email_pattern()
returns text language sql immutable set search_path = '' as $$
  select '[^\][ \t\n\r\f\v@/:;,<>()"'']+@[^\][ \t\n\r\f\v@/:;,<>()"''.]+(?:\.[^\][ \t\n\r\f\v@/:;,<>()"''.]+)*\.[A-Za-z]{2,}';
$$;

create function private.phone_pattern()
returns text language sql immutable set search_path = '' as $$
  select '(?<![A-Za-z0-9_.+-])(?![0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])';
$$;

-- True when free text carries an e-mail address or a phone number. CHECK constraints call this (and the
-- JSON variant below) as the role writing the row, which may use neither the private schema nor the
-- pattern helpers: hence security definer, for these two pure predicates only.
create function private.text_has_personal_data(p_text text)
returns boolean language sql immutable security definer set search_path = '' as $$
  select p_text operator(pg_catalog.~) private.email_pattern()
      or p_text operator(pg_catalog.~) private.phone_pattern();
$$;

-- Free text with e-mail addresses replaced by [email] and phone numbers by [number], so it can be stored.
create function private.scrub_personal_data(p_text text)
returns text language sql immutable set search_path = '' as $$
  select pg_catalog.regexp_replace(
           pg_catalog.regexp_replace(p_text, private.email_pattern(), '[email]', 'g'),
           private.phone_pattern(), '[number]', 'g');
$$;

-- True when a JSON document carries personal data: a key naming a guest field (customer_name, guest_email,
-- phoneNumber, …; case, underscores and dashes ignored) at any depth, or a string value with an e-mail
-- address or a phone number in it.
create function private.jsonb_has_personal_data(doc jsonb)
returns boolean language sql immutable security definer set search_path = '' as $$
  select exists (
    select 1 from pg_catalog.jsonb_path_query(doc, 'strict $.**') as node(value)
    where (pg_catalog.jsonb_typeof(node.value) = 'object' and exists (
             select 1 from pg_catalog.jsonb_object_keys(node.value) as k(key)
             where pg_catalog.lower(pg_catalog.regexp_replace(k.key, '[^[:alnum:]]', '', 'g')) operator(pg_catalog.~)
                   ('^(customer|guest|contact|diner|person|first|last|full|given|family|middle|sur)?'
                    '(name|email|emailaddress|mail|phone|phonenumber|phoneno|mobile|mobilenumber|mobilephone|'
                    'cell|cellphone|telephone|tel)$')))
       or (pg_catalog.jsonb_typeof(node.value) = 'string' and private.text_has_personal_data(node.value #>> '{}'))
  );
$$;
