-- A booking in manual review because nothing fits at its time carries concrete alternatives an operator can
-- offer the guest: the nearest other start times at which the party can be seated, each with its tables,
-- found with the same rules as the engine and ops.assign_tables. They travel in the coordinator.manual_review
-- event (times, offsets and table numbers only), the queue shows them live, and ops.accept_alternative takes
-- one: new time, tables re-checked under the lock, confirmed, the guest told by the status trigger.

-- Reasons a different start time may cure: nothing free fits then, or the stay is outside service hours.
-- (party_too_large, no_tables_configured and the operational reasons hold at any time.)
create function private.fixable_by_time(p_reason text)
returns boolean language sql immutable set search_path = '' as $$
  select pg_catalog.split_part(p_reason, ':', 1)
         in ('no_table_fits', 'exact_search_budget_exhausted', 'outside_service_hours');
$$;

-- Every arrangement the rules allow for this party, best first, whatever is booked: single tables whose party
-- range fits, then combinations (private.table_groups) in which every table is needed — fewer tables first,
-- least waste first, as ops.manual_review_queue ranks them. Time-independent, so computed once per search.
create function private.seating_options(b public.bookings)
returns jsonb language sql stable set search_path = '' as $$
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
             < b.party_size) o;
$$;

-- The first of p_options free over this booking's window, or null. Free means what private.busy_tables
-- means: no other booking's live assignment overlaps the blocked window (the booking's own holds do not count).
create function private.first_free_option(b public.bookings, p_options jsonb)
returns jsonb language sql stable set search_path = '' as $$
  select o.choice
    from pg_catalog.jsonb_array_elements(p_options) with ordinality o(choice, n)
   where not exists (
           select 1 from public.booking_table_assignments a
            where a.table_id in (select x::uuid from pg_catalog.jsonb_array_elements_text(o.choice -> 'ids') x)
              and a.released_at is null and a.booking_id <> b.id and a.during && private.blocked_window(b))
   order by o.n
   limit 1;
$$;

-- The booking moved to p_start_at, keeping its stay length and buffers.
create function private.moved_to(b public.bookings, p_start_at timestamptz)
returns public.bookings language plpgsql immutable set search_path = '' as $$
begin
  b.end_at := p_start_at + (b.end_at - b.start_at);
  b.start_at := p_start_at;
  return b;
end $$;

-- The start times an alternative may use, nearest first (an earlier and a later one equally far: the earlier
-- first, so the order is fixed): the restaurant's 15-minute local grid within ±90 minutes of the booking's
-- start, not the start itself, not in the past. At most 12 times (13 grid points, the start's own excluded).
create function private.alternative_starts(b public.bookings)
returns table (start_at timestamptz, offset_minutes integer) language sql stable set search_path = '' as $$
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
$$;

-- One alternative, as the queue, the event and ops.accept_alternative show it. No personal data.
create function private.alternative_json(b public.bookings, p_start_at timestamptz, p_option jsonb)
returns jsonb language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_build_object(
    'start_at', p_start_at,
    'starts_local', pg_catalog.to_char(p_start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
    'offset_minutes', (extract(epoch from p_start_at - b.start_at) / 60)::integer,
    'tables', p_option -> 'numbers', 'table_ids', p_option -> 'ids')
    from public.restaurants r where r.id = b.restaurant_id;
$$;

-- Up to p_limit start times near the booking's at which the party can be seated, nearest first, each with
-- the tables it would get: inside a service period (private.service_hours_problem) and on a free single
-- table or combination, by the rules of private.seating_options. Bounded: at most 12 start times are tried,
-- each with one availability query over the options, found once. [] when none is left within the window.
create function private.seating_alternatives(b public.bookings, p_limit integer default 3)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  options jsonb := private.seating_options(b);
  found jsonb := '[]'::jsonb;
  candidate record;
  moved public.bookings;
  choice jsonb;
begin
  if pg_catalog.jsonb_array_length(options) = 0 or coalesce(p_limit, 0) < 1 then
    return found;
  end if;
  for candidate in select * from private.alternative_starts(b) loop
    exit when pg_catalog.jsonb_array_length(found) >= p_limit;
    moved := private.moved_to(b, candidate.start_at);
    continue when private.service_hours_problem(moved) is not null;
    choice := private.first_free_option(moved, options);
    if choice is not null then
      found := found || pg_catalog.jsonb_build_array(private.alternative_json(b, candidate.start_at, choice));
    end if;
  end loop;
  return found;
end $$;

-- The escalation event carries the alternatives when the reason is one a new time may cure, so reports can
-- count reviews that had an offer to make. Body as in the rollout modes' migration, plus the alternatives.
create or replace function private.record_escalation(p_mode text, p_reason text, p_attempts integer, p_duration_ms integer,
                                                     p_context jsonb, p_restaurant_id uuid, p_booking_id uuid,
                                                     p_severity text default 'warning')
returns void language plpgsql set search_path = '' as $$
declare
  code text := pg_catalog.split_part(p_reason, ':', 1);
  offer jsonb := '{}'::jsonb;
begin
  if private.fixable_by_time(p_reason) then
    select pg_catalog.jsonb_build_object('alternatives', coalesce(pg_catalog.jsonb_agg(
             pg_catalog.jsonb_build_object('start_at', a -> 'start_at', 'offset_minutes', a -> 'offset_minutes',
                                           'tables', a -> 'tables')), '[]'::jsonb))
      into offer
      from public.bookings b, pg_catalog.jsonb_array_elements(private.seating_alternatives(b)) a
     where b.id = p_booking_id;
  end if;
  if private.legacy_path(p_mode) then
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      private.legacy_escalation_context(code, p_attempts) || coalesce(p_context, '{}'::jsonb) || offer,
      p_restaurant_id, p_booking_id);
    perform private.record_pipeline_event(p_mode, 'coordinator.summary', p_severity,
      private.legacy_summary_context('exhausted', p_attempts, p_duration_ms, code), p_restaurant_id, p_booking_id);
  else
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      pg_catalog.jsonb_build_object('reason', code, 'detail', p_reason, 'attempts', p_attempts,
                                    'duration_ms', p_duration_ms) || coalesce(p_context, '{}'::jsonb) || offer,
      p_restaurant_id, p_booking_id);
  end if;
end $$;

-- The queue gains the alternatives, computed live so they are current: a new column changes the result
-- type, so the function is dropped and created again (same body otherwise, same grants below).
drop function ops.manual_review_queue(uuid);
create function ops.manual_review_queue(p_restaurant_id uuid default null)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text)
language sql stable security definer set search_path = '' as $$
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Alternatives an operator can take with ops.assign_tables: free single tables that seat the party,
         -- then free combinations the rules allow (private.table_groups) in which every table is needed,
         -- fewer tables first, least waste first.
         coalesce((
           select pg_catalog.jsonb_agg(option order by rank, option)
             from (
               select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
                 from private.usable_tables(b.restaurant_id) t
                where b.party_size between t.min_party_size and t.max_party_size
                  and private.busy_tables(b, array[t.id]) is null
               union all
               select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                         from public.restaurant_tables t where t.id = any(g.table_ids)),
                      100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
                 from private.table_groups(b.restaurant_id,
                        (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
                where g.seats >= b.party_size
                  and g.seats - (select min(t.capacity) from public.restaurant_tables t where t.id = any(g.table_ids))
                      < b.party_size
                  and private.busy_tables(b, g.table_ids) is null
               limit 10) options), '[]'::jsonb),
         x.alternatives,
         case when x.alternatives is null then null
              when pg_catalog.jsonb_array_length(x.alternatives) = 0 then 'no alternative within ±90 minutes'
              else (select pg_catalog.string_agg(pg_catalog.format('%s (%s%s min): %s',
                             pg_catalog.right(a ->> 'starts_local', 5),
                             case when (a ->> 'offset_minutes')::integer > 0 then '+' else '' end,
                             a ->> 'offset_minutes',
                             (select pg_catalog.string_agg(n, '+') from pg_catalog.jsonb_array_elements_text(a -> 'tables') n)),
                             '; ' order by o)
                      from pg_catalog.jsonb_array_elements(x.alternatives) with ordinality e(a, o)) end
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id,
         lateral (select case when private.fixable_by_time(b.manual_review_reason)
                              then private.seating_alternatives(b) end as alternatives) x
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
   order by b.start_at;
$$;
comment on function ops.manual_review_queue(uuid) is
  'Bookings waiting for an operator, soonest first, with the reason and the free tables (or combinations of adjacent tables) that would seat them now. For a booking in review because nothing fits at its time (no_table_fits, exact_search_budget_exhausted, outside_service_hours): alternatives, up to three nearest start times within ±90 minutes on the 15-minute grid with the tables each would get (take one with ops.accept_alternative), and alternatives_note, the same in words or "no alternative within ±90 minutes".';

create function ops.accept_alternative(p_booking_id uuid, p_start_at timestamptz, p_actor text,
                                       p_reason text default 'alternative time accepted')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  moved public.bookings;
  options jsonb;
  choice jsonb;
  ids uuid[];
  problem text;
  busy text[];
  requested public.bookings;
  accepted jsonb;
begin
  perform private.act_as(p_actor, p_reason);
  if p_start_at is null or p_booking_id is null then
    raise exception using errcode = 'AS005', message = 'name the booking and one of its alternatives'' start_at';
  end if;
  -- The restaurant lock before the booking's locks, the order every writer follows (see ops.assign_tables).
  perform private.lock_restaurant(x.restaurant_id) from public.bookings x where x.id = p_booking_id;
  b := private.booking_for_ops(p_booking_id);
  -- Asking again for what is already in place changes nothing (an operator's retry after a timeout).
  if b.assignment_state = 'confirmed' and b.start_at = p_start_at then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged', 'start_at', b.start_at,
      'tables', (select pg_catalog.to_jsonb(pg_catalog.array_agg(t.table_number order by t.table_number))
                   from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
                  where a.booking_id = b.id and a.released_at is null));
  end if;
  if b.assignment_state <> 'manual_review' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is %s, not in manual review: only a reviewed booking takes an alternative',
                                  p_booking_id, b.assignment_state);
  end if;
  if not exists (select 1 from private.alternative_starts(b) s where s.start_at = p_start_at) then
    raise exception using errcode = 'AS005',
      message = 'an alternative starts on the restaurant''s 15-minute grid within ±90 minutes of the booking, not at its own time and not in the past',
      hint = 'See the alternatives column of ops.manual_review_queue().';
  end if;

  -- Re-checked now, under the lock: the same search as the alternatives, at this one time.
  moved := private.moved_to(b, p_start_at);
  problem := private.service_hours_problem(moved);
  if problem is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('that time breaks a rule: %s', problem);
  end if;
  options := private.seating_options(moved);
  if pg_catalog.jsonb_array_length(options) = 0 then
    raise exception using errcode = 'AS007',
      message = pg_catalog.format('that time breaks a rule: no table or combination seats a party of %s', b.party_size);
  end if;
  choice := private.first_free_option(moved, options);
  if choice is null then
    raise exception using errcode = 'AS009',
      message = pg_catalog.format('already taken: no free table or combination seats a party of %s at %s',
                                  b.party_size, private.alternative_json(b, p_start_at, '{}'::jsonb) ->> 'starts_local'),
      hint = 'See ops.manual_review_queue() for the alternatives left.';
  end if;
  select pg_catalog.array_agg(x::uuid) into ids from pg_catalog.jsonb_array_elements_text(choice -> 'ids') x;

  -- Move the booking (in review it is not confirmed, so nothing re-assigns it; the turn policy re-applies its
  -- buffers), then check the moved row itself against every rule before seating it.
  requested := b;
  update public.bookings set start_at = moved.start_at, end_at = moved.end_at where id = b.id;
  select * into b from public.bookings where id = b.id;
  problem := private.plan_violation(b, ids, (private.settings_for(b.restaurant_id)).max_tables_per_booking);
  if problem is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('those tables break a rule: %s', problem);
  end if;
  busy := private.busy_tables(b, ids);
  if busy is not null then
    raise exception using errcode = 'AS009',
      message = pg_catalog.format('already taken for that time: %s', pg_catalog.array_to_string(busy, ', '));
  end if;

  -- Confirming queues the guest's message (booking_confirmed, or booking_changed if they had heard of the old time).
  b.assignment_state_version := private.seat_and_confirm(b, ids, 'ops', p_actor, 'manual', p_reason,
    pg_catalog.jsonb_build_object('tables', choice -> 'numbers', 'start_changed', true), '{}'::jsonb, p_actor);
  accepted := private.alternative_json(requested, b.start_at, choice);
  perform private.record_event('assignment.ops', 'ops.alternative_accepted', 'info',
    pg_catalog.jsonb_build_object('from_start_at', requested.start_at, 'start_at', b.start_at,
      'offset_minutes', accepted -> 'offset_minutes', 'tables', accepted -> 'tables'),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'confirmed') || accepted;
end $$;
comment on function ops.accept_alternative(uuid, timestamptz, text, text) is
  'Take one of a reviewed booking''s alternatives (ops.manual_review_queue().alternatives): moves the booking to p_start_at, keeping its length, re-checks under the restaurant lock that the party can be seated then by the same rules, assigns the tables, confirms it (the guest is told the new time) and records ops.alternative_accepted. Refuses and writes nothing when it cannot: AS009 (taken meanwhile), AS007 (breaks a rule), AS005 (not an alternative start), AS001 (not in manual review). Asking again once done returns outcome unchanged.';

revoke all on function ops.manual_review_queue(uuid), ops.accept_alternative(uuid, timestamptz, text, text)
  from public, anon, authenticated;
grant execute on function ops.manual_review_queue(uuid), ops.accept_alternative(uuid, timestamptz, text, text)
  to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
