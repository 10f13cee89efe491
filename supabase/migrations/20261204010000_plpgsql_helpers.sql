-- The pipeline's SQL-language helpers, again, in PL/pgSQL, with the same bodies and attributes. A SQL function
-- that cannot be inlined (every one of these: they set search_path) is parsed and planned afresh in every
-- statement that calls it, and CHECK constraints call some of them on every row: profiled, that was half of
-- the database's CPU per booking. PL/pgSQL keeps each function's plans for the life of the connection.
-- `#variable_conflict use_column` keeps SQL's rule that a column wins over a parameter of the same name.

create or replace function private.backoff_ms(p_attempt integer, p_base_ms integer, p_max_ms integer, p_jitter_ms integer)
 returns integer
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return (least(p_max_ms::bigint, p_base_ms::bigint * power(2, least(greatest(p_attempt - 1, 0), 40))::bigint)
            + floor(random() * p_jitter_ms))::integer;
end $$;

create or replace function private.blocked_window(b public.bookings)
 returns tstzrange
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return pg_catalog.tstzrange(
      b.start_at - pg_catalog.make_interval(mins => b.buffer_before_minutes),
      b.end_at + pg_catalog.make_interval(mins => b.buffer_after_minutes), '[)');
end $$;

create or replace function private.booking_mode(p_booking_id uuid)
 returns text
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result text;
begin
  select b.assignment_mode from public.bookings b where b.id = p_booking_id
    into result;
  return result;
end $$;

create or replace function private.busy_tables(b public.bookings, p_table_ids uuid[])
 returns text[]
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result text[];
begin
  select pg_catalog.array_agg(distinct t.table_number order by t.table_number)
      from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
     where a.table_id = any(p_table_ids) and a.released_at is null and a.booking_id <> b.id
       and a.during && private.blocked_window(b)
    into result;
  return result;
end $$;

create or replace function private.decide_mode(p_restaurant_id uuid, p_mode_ceiling text)
 returns table(mode text, reason text)
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select case when capped then p_mode_ceiling else m.mode end,
           case when capped then 'capped by the function''s feature flags (' || m.reason || ')' else m.reason end
      from private.effective_mode(p_restaurant_id) m,
           lateral (select p_mode_ceiling = 'legacy' and m.mode in ('shadow', 'v3')
                           or p_mode_ceiling = 'shadow' and m.mode = 'v3' as capped) c;
end $$;

create or replace function private.dispatch_booking(p_booking_id uuid, p_trigger text)
 returns bigint
 language plpgsql
 security definer
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return private.post_to_function('assignment-coordinator',
                                    pg_catalog.jsonb_build_object('booking_id', p_booking_id, 'trigger', p_trigger));
end $$;

create or replace function private.dispatch_configured()
 returns boolean
 language plpgsql
 stable security definer
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result boolean;
begin
  select count(*) = 2 from vault.decrypted_secrets
     where name in ('assignment_functions_url', 'assignment_pipeline_secret') and decrypted_secret is not null
    into result;
  return result;
end $$;

create or replace function private.effective_mode(p_restaurant_id uuid)
 returns table(mode text, reason text)
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select case
             when o.mode = 'off' then 'off'
             when s.kill_switch then 'legacy'
             when o.mode is not null then o.mode
             when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then 'v3'
             else s.default_mode
           end,
           case
             when o.mode = 'off' then 'restaurant override'
             when s.kill_switch then 'kill switch: ' || s.kill_switch_reason
             when o.mode is not null then 'restaurant override'
             when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then
               pg_catalog.format('rollout: bucket %s < %s%%', private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
             else pg_catalog.format('default mode (bucket %s is outside the %s%% rollout)',
                                    private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
           end
      from private.rollout_settings s
      left join private.restaurant_pipeline_settings o on o.restaurant_id = p_restaurant_id;
end $$;

create or replace function private.email_pattern()
 returns text
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return '[^\][ \t\n\r\f\v@/:;,<>()"'']+@[^\][ \t\n\r\f\v@/:;,<>()"''.]+(?:\.[^\][ \t\n\r\f\v@/:;,<>()"''.]+)*\.[A-Za-z]{2,}';
end $$;

create or replace function private.phone_pattern()
 returns text
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return '(?<![A-Za-z0-9_.+-])(?![0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])';
end $$;

create or replace function private.guest_view(b public.bookings)
 returns jsonb
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result jsonb;
begin
  select pg_catalog.jsonb_build_object(
      'reference', b.reference,
      'status', case when b.status = 'cancelled' then 'cancelled' else 'confirmed' end,
      'party_size', b.party_size, 'start_at', b.start_at, 'end_at', b.end_at,
      'starts_local', pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
      'timezone', r.timezone)
      from public.restaurants r where r.id = b.restaurant_id
    into result;
  return result;
end $$;

create or replace function private.is_locked(o public.bookings, p_set_by_staff boolean)
 returns boolean
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return p_set_by_staff or o.status in ('checked_in', 'completed') or o.assignment_state <> 'confirmed'
           or o.start_at <= pg_catalog.now() + interval '30 minutes';
end $$;

create or replace function private.is_queued(p_state text)
 returns boolean
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return p_state in ('created', 'capacity_verified', 'assignment_pending');
end $$;

create or replace function private.is_unsettled(p_state text)
 returns boolean
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return private.is_queued(p_state) or p_state in ('assignment_in_progress', 'assigned');
end $$;

create or replace function private.scrub_personal_data(p_text text)
 returns text
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return pg_catalog.regexp_replace(
             pg_catalog.regexp_replace(pg_catalog.normalize(p_text, 'NFKC'), private.email_pattern(), '[email]', 'g'),
             private.phone_pattern(), '[number]', 'g');
end $$;

create or replace function private.legacy_path(p_mode text)
 returns boolean
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return coalesce(p_mode in ('legacy', 'shadow'), false);
end $$;

create or replace function private.lock_key(p_scope text, p_id uuid)
 returns bigint
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return pg_catalog.hashtextextended(p_scope || ':' || p_id::text, 0);
end $$;

create or replace function private.message_is_current(m public.notification_outbox, b public.bookings)
 returns boolean
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result boolean;
begin
  select not exists (select 1 from public.notification_outbox n
                        where n.booking_id = m.booking_id and n.seq > m.seq and n.status <> 'superseded')
       and case when m.kind = 'booking_cancelled' then b.status = 'cancelled'
                else b.status in ('confirmed', 'checked_in', 'completed', 'no_show') and private.message_says(m, b) end
    into result;
  return result;
end $$;

create or replace function private.message_says(m public.notification_outbox, b public.bookings)
 returns boolean
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result boolean;
begin
  select (m.payload ->> 'start_at')::timestamptz = b.start_at
       and (m.payload ->> 'end_at')::timestamptz is not distinct from b.end_at
       and (m.payload ->> 'party_size')::integer = b.party_size
    into result;
  return result;
end $$;

create or replace function private.new_booking_reference()
 returns text
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result text;
begin
  select pg_catalog.substr('ABCDEFGHJKMNPQRSTVWXYZ', 1 + pg_catalog.get_byte(r.bytes, 0) % 22, 1)
        || pg_catalog.string_agg(pg_catalog.substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                                                   1 + pg_catalog.get_byte(r.bytes, i) % 32, 1), '' order by i)
      from (select pg_catalog.uuid_send(pg_catalog.gen_random_uuid()) as bytes) r,
           pg_catalog.unnest(array[1, 2, 3, 4, 5, 7, 9, 10, 11]) as i
     group by r.bytes
    into result;
  return result;
end $$;

create or replace function private.nudge_grace()
 returns interval
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return interval '10 seconds';
end $$;

create or replace function private.pipeline_event_name(p_mode text, p_event_type text)
 returns table(source text, event_type text)
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select case when private.legacy_path(p_mode) then 'auto_assign' else 'assignment.coordinator' end,
           case when private.legacy_path(p_mode) then private.legacy_event_name(p_event_type) else p_event_type end;
end $$;

create or replace function private.pipeline_modes()
 returns text[]
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return array['off', 'legacy', 'shadow', 'v3'];
end $$;

create or replace function private.record_attempt(b public.bookings, p_result text, p_reason text, p_strategy text, p_duration_ms integer, p_metadata jsonb)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.booking_assignment_attempts (booking_id, attempt_no, strategy, result, reason, duration_ms, metadata)
    values (b.id, greatest(b.attempt_count, 1), p_strategy, p_result, p_reason, p_duration_ms, coalesce(p_metadata, '{}'::jsonb))
    on conflict (booking_id, attempt_no) do update
      set result = excluded.result, reason = excluded.reason, strategy = excluded.strategy,
          duration_ms = excluded.duration_ms, metadata = excluded.metadata;
end $$;

create or replace function private.record_event(p_source text, p_event_type text, p_severity text, p_context jsonb, p_restaurant_id uuid, p_booking_id uuid, p_at timestamp with time zone default null::timestamp with time zone)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
    values (p_source, p_event_type, p_severity, coalesce(p_context, '{}'::jsonb), p_restaurant_id, p_booking_id,
            coalesce(p_at, pg_catalog.now()));
end $$;

create or replace function private.record_pipeline_event(p_mode text, p_event_type text, p_severity text, p_context jsonb, p_restaurant_id uuid, p_booking_id uuid)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  perform private.record_event(n.source, n.event_type, p_severity,
             case when p_mode is null then coalesce(p_context, '{}'::jsonb)
                  else pg_catalog.jsonb_build_object('mode', p_mode) || coalesce(p_context, '{}'::jsonb) end,
             p_restaurant_id, p_booking_id)
      from private.pipeline_event_name(p_mode, p_event_type) n;
end $$;

create or replace function private.record_shadow(b public.bookings, p_shadow jsonb)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
      primary_decision, candidate_decision, primary_tables, candidate_tables, score_diff, primary_ms, candidate_ms,
      candidate_error)
    select b.id, b.restaurant_id, p_shadow ->> 'experiment', p_shadow ->> 'primary_strategy',
           p_shadow ->> 'candidate_strategy', p_shadow ->> 'primary_decision', p_shadow ->> 'candidate_decision',
           coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'primary_tables') x), '{}'),
           coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'candidate_tables') x), '{}'),
           (p_shadow ->> 'score_diff')::numeric, (p_shadow ->> 'primary_ms')::numeric, (p_shadow ->> 'candidate_ms')::numeric,
           private.scrub_personal_data(pg_catalog.left(p_shadow ->> 'candidate_error', 500))
     where p_shadow is not null and b.assignment_mode = 'shadow';
end $$;

create or replace function private.release_booking_tables(p_booking_id uuid, p_reason text)
 returns integer
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result integer;
begin
  with released as (
      update public.booking_table_assignments
         set released_at = pg_catalog.clock_timestamp(), release_reason = p_reason
       where booking_id = p_booking_id and released_at is null
      returning 1)
    select count(*)::integer from released
    into result;
  return result;
end $$;

create or replace function private.rollout_bucket(p_restaurant_id uuid, p_salt text)
 returns integer
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return (('x' || pg_catalog.substr(pg_catalog.md5(p_salt || ':' || p_restaurant_id::text), 1, 8))::bit(32)::bigint % 100)::integer;
end $$;

create or replace function private.settings_for(p_restaurant_id uuid, p_instance_max_parallel integer default null::integer)
 returns private.pipeline_settings
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return (
  select pg_catalog.jsonb_populate_record(g, pg_catalog.jsonb_build_object(
        'max_parallel', least(coalesce(r.max_parallel, g.max_parallel),
                              greatest(1, least(20, coalesce(p_instance_max_parallel, 20)))),
        'max_tables_per_booking', coalesce(r.max_tables_per_booking, g.max_tables_per_booking),
        'reoptimize', coalesce(r.reoptimize, g.reoptimize)))
      from private.pipeline_settings g
      left join private.restaurant_pipeline_settings r on r.restaurant_id = p_restaurant_id);
end $$;

create or replace function private.snapshot_horizon()
 returns interval
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return interval '6 hours';
end $$;

create or replace function private.state_holds_tables(p_state text)
 returns boolean
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return p_state in ('assigned', 'confirmed');
end $$;

create or replace function private.usable_tables(p_restaurant_id uuid)
 returns setof public.restaurant_tables
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select * from public.restaurant_tables t
     where t.restaurant_id = p_restaurant_id and t.active and not t.out_of_service;
end $$;

create or replace function private.group_search_limit()
 returns integer
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return 2000;
end $$;

create or replace function private.legacy_event_name(p_event_type text)
 returns text
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return case p_event_type
             when 'coordinator.start' then 'auto_assign.attempt.start'
             when 'coordinator.retry' then 'auto_assign.retry_scheduled'
             when 'coordinator.error' then 'auto_assign.attempt_error'
             when 'coordinator.manual_review' then 'auto_assign.failed'
             when 'coordinator.confirmed' then 'auto_assign.succeeded'
             else 'auto_assign.' || pg_catalog.regexp_replace(p_event_type, '^coordinator\.', '')
           end;
end $$;


-- The review alternatives' helpers, computed on every escalation under the restaurant's lock.
create or replace function private.seating_options(b public.bookings)
 returns jsonb
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result jsonb;
begin
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('ids', o.ids, 'numbers', o.numbers)
                                         order by o.rank, o.numbers), '[]'::jsonb)
      from (
        select pg_catalog.to_jsonb(array[t.id]) as ids, pg_catalog.to_jsonb(array[t.table_number]) as numbers,
               t.capacity - b.party_size as rank
          from private.usable_tables(b.restaurant_id) t
         where b.party_size between t.min_party_size and t.max_party_size
        union all
        select pg_catalog.to_jsonb(g.table_ids),
               (select pg_catalog.to_jsonb(pg_catalog.array_agg(t.table_number order by t.table_number))
                  from public.restaurant_tables t where t.id = any(g.table_ids)),
               100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
          from private.table_groups(b.restaurant_id, (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
         where g.seats >= b.party_size
           and g.seats - (select min(t.capacity) from public.restaurant_tables t where t.id = any(g.table_ids))
               < b.party_size) o
    into result;
  return result;
end $$;

-- first_free_option reads the tables taken over the window once, then tests each option's ids against them with
-- jsonb's ?| (ids are the uuids' canonical text): in a full evening of a large room it used to query the
-- assignments once per option (hundreds) per start time.
create or replace function private.first_free_option(b public.bookings, p_options jsonb)
 returns jsonb
 language plpgsql
 stable
 set search_path = ''
as $$
declare
  taken text[];
begin
  select coalesce(pg_catalog.array_agg(a.table_id::text), '{}') into taken
    from public.booking_table_assignments a
   where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id
     and a.during && private.blocked_window(b);
  return (select o.choice
            from pg_catalog.jsonb_array_elements(p_options) with ordinality o(choice, n)
           where not ((o.choice -> 'ids') operator(pg_catalog.?|) taken)
           order by o.n
           limit 1);
end $$;

create or replace function private.alternative_starts(b public.bookings)
 returns table(start_at timestamp with time zone, offset_minutes integer)
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select c.start_at, (extract(epoch from c.start_at - b.start_at) / 60)::integer
      from public.restaurants r,
           lateral (select pg_catalog.date_trunc('hour', b.start_at at time zone r.timezone)
                           + pg_catalog.make_interval(mins => 15 * (extract(minute from b.start_at at time zone r.timezone)::integer / 15))
                           as base) g,
           lateral (select (g.base + pg_catalog.make_interval(mins => 15 * k)) at time zone r.timezone as start_at
                      from pg_catalog.generate_series(-6, 6) k) c
     where r.id = b.restaurant_id
       and c.start_at <> b.start_at
       and abs(extract(epoch from c.start_at - b.start_at)) <= 90 * 60
       and c.start_at > pg_catalog.now()
     order by abs(extract(epoch from c.start_at - b.start_at)), c.start_at;
end $$;

create or replace function private.alternative_json(b public.bookings, p_start_at timestamp with time zone, p_option jsonb)
 returns jsonb
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result jsonb;
begin
  select pg_catalog.jsonb_build_object(
      'start_at', p_start_at,
      'starts_local', pg_catalog.to_char(p_start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
      'offset_minutes', (extract(epoch from p_start_at - b.start_at) / 60)::integer,
      'tables', p_option -> 'numbers', 'table_ids', p_option -> 'ids')
      from public.restaurants r where r.id = b.restaurant_id
    into result;
  return result;
end $$;

create or replace function private.table_groups(p_restaurant_id uuid, p_max_tables integer)
 returns table(table_ids uuid[], seats integer)
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  with recursive
      joinable as (
        select t.id, t.zone_id, t.capacity from private.usable_tables(p_restaurant_id) t where t.movable),
      link as (
        select x.id as from_id, y.id as to_id, y.capacity as to_capacity
          from public.table_adjacency a
          join joinable x on x.id in (a.table_a, a.table_b)
          join joinable y on y.id in (a.table_a, a.table_b) and y.id <> x.id
         where a.restaurant_id = p_restaurant_id and x.zone_id = y.zone_id),
      grp(members, seats) as (
        select array[j.id], j.capacity from joinable j
        union
        select (select pg_catalog.array_agg(m order by m) from pg_catalog.unnest(g.members || l.to_id) m),
               g.seats + l.to_capacity
          from grp g join link l on l.from_id = any(g.members)
         where pg_catalog.cardinality(g.members) < p_max_tables
           and l.to_id > g.members[1] and not l.to_id = any(g.members))
    select g.members, g.seats from grp g where pg_catalog.cardinality(g.members) >= 2
     limit private.group_search_limit();
end $$;

create or replace function private.fixable_by_time(p_reason text)
 returns boolean
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return pg_catalog.split_part(p_reason, ':', 1)
           in ('no_table_fits', 'exact_search_budget_exhausted', 'outside_service_hours');
end $$;

create or replace function private.largest_combination(p_restaurant_id uuid, p_max_tables integer, p_enough integer default null::integer)
 returns integer
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result integer;
begin
  with found as materialized (select g.seats from private.table_groups(p_restaurant_id, p_max_tables) g)
    select case
      when (select count(*) from found) >= private.group_search_limit() then (
        select max(z.seats) from (
          select sum(t.capacity)::integer as seats
            from (select u.zone_id, u.capacity,
                         pg_catalog.row_number() over (partition by u.zone_id order by u.capacity desc) as rank
                    from private.usable_tables(p_restaurant_id) u where u.movable) t
           where t.rank <= p_max_tables group by t.zone_id) z)
      else coalesce((select f.seats from found f where p_enough is not null and f.seats >= p_enough limit 1),
                    (select max(f.seats) from found f)) end
    into result;
  return result;
end $$;

create or replace function private.max_parallel_report(p_restaurant_id uuid)
 returns jsonb
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result jsonb;
begin
  select pg_catalog.jsonb_build_object(
             'restaurant_id', p_restaurant_id,
             'max_parallel', db.limit_,
             'global_max_parallel', (private.settings_for(null)).max_parallel,
             'restaurant_override', (select o.max_parallel from private.restaurant_pipeline_settings o
                                      where o.restaurant_id = p_restaurant_id),
             'function_cap_last_15_min', cap.value,
             'effective_max_parallel', least(db.limit_, coalesce(cap.value, db.limit_)))
      from (select (private.settings_for(p_restaurant_id)).max_parallel as limit_) db,
           (select min((e.context ->> 'function_max_parallel')::integer) as value
              from public.observability_events e
             where e.source in ('assignment.coordinator', 'auto_assign')
               and e.event_type in ('coordinator.start', 'auto_assign.attempt.start', 'coordinator.retry',
                                    'auto_assign.retry_scheduled')
               and e.created_at > pg_catalog.now() - interval '15 minutes'
               and (p_restaurant_id is null or e.restaurant_id = p_restaurant_id)
               and e.context ->> 'function_max_parallel' is not null) cap
    into result;
  return result;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
