-- Helpers every later file uses: time zones, updated_at, advisory-lock keys, and the one definition of
-- personal data that CHECK constraints and scrubbers share.

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

-- The pipeline's one backoff: base·2^(attempt-1) ms, capped at p_max_ms, plus up to p_jitter_ms of jitter so
-- retries of many bookings do not arrive together. Retries, re-dispatches and notification resends all use it.
create function private.backoff_ms(p_attempt integer, p_base_ms integer, p_max_ms integer, p_jitter_ms integer)
returns integer language sql volatile set search_path = '' as $$
  select (least(p_max_ms::bigint, p_base_ms::bigint * power(2, least(greatest(p_attempt - 1, 0), 40))::bigint)
          + floor(random() * p_jitter_ms))::integer;
$$;

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

-- Advisory-lock keys. Transaction-scoped locks only: the edge function reaches Postgres through a
-- transaction-mode pooler, where session locks would leak between clients.
create function private.lock_key(p_scope text, p_id uuid)
returns bigint language sql immutable set search_path = '' as $$
  select pg_catalog.hashtextextended(p_scope || ':' || p_id::text, 0);
$$;

-- Take a restaurant's lock, the first lock of the order every writer follows (restaurant, then booking, then
-- rows), and say how long it took in ms. Transaction-scoped, so it is safe behind a transaction pooler.
create function private.lock_restaurant(p_restaurant_id uuid)
returns numeric language plpgsql set search_path = '' as $$
declare
  started timestamptz := pg_catalog.clock_timestamp();
begin
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('restaurant', p_restaurant_id));
  return round(extract(epoch from pg_catalog.clock_timestamp() - started) * 1000, 3);
end $$;

-- Column defaults and CHECK constraints run their functions as the role writing the row, so the role the
-- tables are granted to (service_role) may call these pure helpers; nothing else of private is its to call.
grant execute on function private.is_known_time_zone(text), private.text_has_personal_data(text),
  private.jsonb_has_personal_data(jsonb) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
