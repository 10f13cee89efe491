begin;
select plan(34);

select has_table('public', t, 'table public.' || t || ' exists')
  from unnest(array['restaurants', 'zones', 'restaurant_tables', 'table_adjacency', 'turn_time_policies',
                    'service_periods', 'bookings', 'booking_table_assignments', 'booking_assignment_state_history',
                    'booking_assignment_attempts', 'observability_events']) as t;

select columns_are('public', 'observability_events',
  array['id', 'created_at', 'source', 'event_type', 'severity', 'context', 'restaurant_id', 'booking_id'],
  'observability_events has exactly the columns the rollout plan''s queries use');
select col_type_is('public', 'observability_events', 'context', 'jsonb', 'event context is jsonb');
select col_type_is('public', 'bookings', 'start_at', 'timestamp with time zone', 'bookings start at an instant');
select col_type_is('public', 'booking_table_assignments', 'during', 'tstzrange', 'assignments hold a time range');

select has_column('public', 'bookings', c, 'bookings.' || c || ' exists')
  from unnest(array['assignment_state', 'assignment_state_version', 'next_attempt_at', 'attempt_count',
                    'lease_token', 'lease_expires_at', 'manual_review_reason', 'status']) as c;

select is(
  (select string_agg(c.oid::regclass::text, ', ') from pg_class c
    where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace, 'ops'::regnamespace)
      and c.relkind in ('r', 'p') and not c.relrowsecurity),
  null, 'row level security is enabled on every table in public, private and ops');

select ok(exists (select 1 from pg_constraint where conname = 'table_is_never_double_booked' and contype = 'x'),
  'assignments carry the no-double-booking exclusion constraint');
select ok(exists (select 1 from pg_constraint where conname = 'turn_time_bands_do_not_overlap' and contype = 'x'),
  'turn-time bands cannot overlap');
select ok(exists (select 1 from pg_constraint where conname = 'state_history_has_one_row_per_version'),
  'history has one row per booking version');

select is(
  (select count(*)::int from pg_constraint k
     join pg_class c on c.oid = k.conrelid
    where c.relnamespace = 'public'::regnamespace and k.contype = 'c' and k.conname ~ '_check$'),
  0, 'every check constraint has a name that reads as a sentence, not a generated one');

select is(
  (select string_agg(p.oid::regprocedure::text, ', ') from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace, 'ops'::regnamespace)
      and p.prosecdef
      and not coalesce(p.proconfig @> array['search_path=""'], false)),
  null, 'every security definer function in public, private and ops pins an empty search_path');

select is(
  (select count(*)::int from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'ops'::regnamespace) and obj_description(p.oid, 'pg_proc') is null),
  0, 'every callable function in public and ops is documented with comment on function');

select is(
  (select count(*)::int from private.assignment_state_transitions),
  21, 'the state machine has the 21 transitions of the design');

select has_extension('extensions', 'btree_gist', 'btree_gist is installed');
select ok(exists (select 1 from pg_proc where proname = 'http_post' and pronamespace = 'net'::regnamespace),
  'net.http_post exists (pg_net or its local stand-in)');
select ok(exists (select 1 from pg_class where relname = 'decrypted_secrets' and relnamespace = 'vault'::regnamespace),
  'vault.decrypted_secrets exists (Vault or its local stand-in)');

select * from finish();
rollback;
