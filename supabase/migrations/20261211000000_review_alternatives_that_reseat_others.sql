-- Review alternatives that re-seat other bookings. A booking in review because nothing fits at its time is
-- offered up to three nearby start times at which free tables seat it (20261202200000). On the quality
-- benchmark's unseen days that left 13–34 % of such reviews with no offer at all, mostly because the evening
-- was full at every nearby time — yet at most of those times moving a few bookings that have not started to
-- other tables (as the pipeline's re-optimisation does) would have made room.
--
-- That search needs the engine (its bounded re-seating search, then the exact solver), so it runs in the
-- coordinator function, never in the request that escalated the booking and never while its restaurant has
-- bookings waiting: a reservation drop is not slowed by it. The function searches one review when a drain ends:
-- it asks for reviews to search (public.review_reseating_due), takes the review's snapshot and the times to try
-- (public.review_reseating_probes) and stores what it found (public.review_offer_reseating). While reviews
-- wait for a search and no booking brings a request, each sweep sends the function one (private.nudge_reseating). The offers are suggestions: the review queue shows
-- them with the moves each needs, and ops.accept_alternative re-checks every move and every table under the
-- restaurant lock, refusing (AS009) and writing nothing when the floor has changed since. An offer belongs to
-- the review it was found for: a new state version, a changed time, end or party size hides it.

create table private.reseating_offers (
  booking_id uuid primary key references public.bookings (id) on delete cascade,
  -- The review the offers were found for (private.review_key): they apply while the booking is still in it,
  -- unchanged.
  review text not null,
  searched_at timestamptz not null default pg_catalog.now(),
  -- [{start_at, table_ids, moves: [{booking_id, from_table_ids, to_table_ids}]}], nearest first; [] when the
  -- search found none.
  offers jsonb not null check (pg_catalog.jsonb_typeof(offers) = 'array' and pg_catalog.jsonb_array_length(offers) <= 3)
);
comment on table private.reseating_offers is
  'Alternatives found for a booking in review that need other bookings re-seated (found by the coordinator function, re-checked when accepted), for the review they were found in.';
alter table private.reseating_offers enable row level security;
revoke all on private.reseating_offers from public, anon, authenticated, service_role;

-- A restaurant with no booking in progress, none new (a new booking is due once its dispatch has had its
-- chance, yet is being assigned now) and none waiting that is due within a few seconds: a search for its
-- reviews then takes no time a waiting booking needs.
create function private.restaurant_is_idle(p_restaurant_id uuid)
returns boolean language sql stable set search_path = '' as $$
  select not exists (
    select 1 from public.bookings x
     where x.restaurant_id = p_restaurant_id
       and (x.assignment_state in ('assignment_in_progress', 'created', 'capacity_verified')
            or (x.assignment_state = 'assignment_pending' and x.next_attempt_at <= pg_catalog.now() + interval '5 seconds')));
$$;

-- What a search was for: the booking's review (its state version) and everything the search read of the
-- booking itself. A booking in review whose time, stay, buffers or party change keeps its state version.
-- No search_path of its own (every name is qualified), so the planner inlines it: the due list compares it
-- for every review on every sweep.
create function private.review_key(b public.bookings)
returns text language sql stable as $$
  select pg_catalog.concat_ws('/', b.assignment_state_version, extract(epoch from b.start_at),
                              extract(epoch from b.end_at), b.party_size, b.buffer_before_minutes,
                              b.buffer_after_minutes);
$$;

-- Whether a restaurant's bookings are assigned by the V3 engine now: re-seating alternatives are a V3
-- feature, so a restaurant on legacy, shadow or off (the rollout's kill switch included) gets none.
create function private.runs_v3(p_restaurant_id uuid)
returns boolean language sql stable set search_path = '' as $$
  select d.mode = 'v3' from private.decide_mode(p_restaurant_id, null) d;
$$;

-- The stored offers of a booking, when they were found for the review it is in now, as it is now, and its
-- restaurant is still on V3.
create function private.current_reseating_offers(b public.bookings)
returns jsonb language sql stable set search_path = '' as $$
  select o.offers from private.reseating_offers o
   where o.booking_id = b.id and b.assignment_state = 'manual_review' and o.review = private.review_key(b)
     and private.runs_v3(b.restaurant_id);
$$;

-- Reviews the sweeper sent to the function for their search (private.nudge_reseating), per review: one whose
-- search never gets stored (the function fails on it, or its flags keep V3 off) is sent three times, then left
-- alone, so it neither costs a request every 5 seconds nor holds up the reviews behind it.
create table private.reseating_nudges (
  booking_id uuid primary key references public.bookings (id) on delete cascade,
  review text not null,
  nudges integer not null,
  last_at timestamptz not null
);
comment on table private.reseating_nudges is
  'Times the sweeper sent a review to the coordinator function for its re-seating search, per review (private.review_key).';
alter table private.reseating_nudges enable row level security;
revoke all on private.reseating_nudges from public, anon, authenticated, service_role;

-- The times a re-seating search tries: the alternatives' own start times, inside service hours, at which some
-- table or combination could seat the party but none is free.
create function private.reseating_probe_starts(b public.bookings)
returns table (start_at timestamptz, offset_minutes integer, window_start timestamptz, window_end timestamptz)
language plpgsql stable set search_path = '' as $$
declare
  options jsonb := private.seating_options(b);
  candidate record;
  moved public.bookings;
begin
  if pg_catalog.jsonb_array_length(options) = 0 then
    return;
  end if;
  for candidate in select * from private.alternative_starts(b) loop
    moved := private.moved_to(b, candidate.start_at);
    continue when private.service_hours_problem(moved) is not null
               or private.first_free_option(moved, options) is not null;
    start_at := candidate.start_at;
    offset_minutes := candidate.offset_minutes;
    window_start := pg_catalog.lower(private.blocked_window(moved));
    window_end := pg_catalog.upper(private.blocked_window(moved));
    return next;
  end loop;
end $$;

create function public.review_reseating_due(p_limit integer default 5, p_restaurant_id uuid default null)
returns uuid[] language plpgsql stable security definer set search_path = '' as $$
begin
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception using errcode = 'AS005', message = 'limit is 1 to 100';
  end if;
  -- Called by every sweep and every drain that runs dry: the reviews not yet searched (or given up on) first,
  -- by the booking's own columns, then the restaurant checks once per restaurant among those few.
  return coalesce((
    with candidate as materialized (
      select b.id, b.start_at, b.restaurant_id from public.bookings b
       where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
         and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
         and private.time_may_cure(b.manual_review_reason)
         and not exists (select 1 from private.reseating_offers o
                          where o.booking_id = b.id and o.review = private.review_key(b))
         and not exists (select 1 from private.reseating_nudges n
                          where n.booking_id = b.id and n.review = private.review_key(b) and n.nudges >= 3)),
    restaurant as materialized (select distinct c.restaurant_id from candidate c),
    ready as materialized (
      select r.restaurant_id from restaurant r
       where private.runs_v3(r.restaurant_id) and private.restaurant_is_idle(r.restaurant_id))
    select pg_catalog.array_agg(x.id order by x.start_at)
      from (select c.id, c.start_at from candidate c join ready using (restaurant_id)
             order by c.start_at limit p_limit) x), '{}');
end $$;
comment on function public.review_reseating_due(integer, uuid) is
  'Bookings in review that a re-seating search may help (nothing fits at their time), not yet searched in this review, of restaurants on the V3 engine with nothing waiting (of one restaurant with p_restaurant_id); soonest first, up to p_limit (1–100).';

create function public.review_reseating_probes(p_booking_id uuid)
returns jsonb language plpgsql stable security definer set search_path = '' as $$
declare
  b public.bookings;
  settings private.pipeline_settings;
begin
  select * into b from public.bookings where id = p_booking_id;
  if not found then
    return '{"outcome": "skip", "reason": "booking_not_found"}'::jsonb;
  end if;
  if b.assignment_state <> 'manual_review' or not private.time_may_cure(b.manual_review_reason) then
    return '{"outcome": "skip", "reason": "not_in_review_for_lack_of_tables"}'::jsonb;
  end if;
  if private.current_reseating_offers(b) is not null then
    return '{"outcome": "skip", "reason": "already_searched"}'::jsonb;
  end if;
  if not private.runs_v3(b.restaurant_id) then
    return '{"outcome": "skip", "reason": "not_on_v3"}'::jsonb;
  end if;
  if not private.restaurant_is_idle(b.restaurant_id) then
    return '{"outcome": "skip", "reason": "restaurant_busy"}'::jsonb;
  end if;
  -- The snapshot the re-optimisation would get, whatever the restaurant's setting: the operator decides.
  settings := private.settings_for(b.restaurant_id);
  settings.reoptimize := true;
  return pg_catalog.jsonb_build_object(
    'outcome', 'ready',
    'review', private.review_key(b),
    'snapshot', private.assignment_snapshot(b, settings),
    'probes', coalesce((select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(p) order by abs(p.offset_minutes), p.start_at)
                          from private.reseating_probe_starts(b) p), '[]'::jsonb));
end $$;
comment on function public.review_reseating_probes(uuid) is
  'For the coordinator''s re-seating search: the snapshot of a booking in review (with the bookings that may move) and the start times to try, {outcome: ready, review, snapshot, probes: [{start_at, offset_minutes, window_start, window_end}]}; or {outcome: skip, reason} when it is not in review for lack of tables, was searched in this review already, its restaurant is not on the V3 engine, or has bookings waiting.';

-- The ids of a JSON array of 1 to p_max UUIDs, sorted; null for anything else.
create function private.uuid_list(p_value jsonb, p_max integer)
returns uuid[] language plpgsql immutable set search_path = '' as $$
declare
  ids uuid[];
begin
  if pg_catalog.jsonb_typeof(p_value) is distinct from 'array'
     or pg_catalog.jsonb_array_length(p_value) not between 1 and p_max then
    return null;
  end if;
  select pg_catalog.array_agg(x::uuid order by x::uuid) into ids from pg_catalog.jsonb_array_elements_text(p_value) x;
  return case when pg_catalog.cardinality(ids) = (select count(distinct i) from pg_catalog.unnest(ids) i) then ids end;
exception when data_exception then
  return null;
end $$;

create function public.review_offer_reseating(p_booking_id uuid, p_review text, p_offers jsonb)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  offer jsonb;
  move jsonb;
  clean jsonb := '[]'::jsonb;
  clean_moves jsonb;
  offer_start timestamptz;
  ids uuid[];
  from_ids uuid[];
  to_ids uuid[];
  move_id uuid;
  moved uuid[];
  described jsonb := '[]'::jsonb;
  bad_offer constant text :=
    'an offer is {start_at: one of the booking''s alternative times, table_ids: 1 to 6 of its restaurant''s tables, moves: 1 to 20 of {booking_id: another booking of the restaurant, from_table_ids, to_table_ids: 1 to 6 of its tables each}}, each time once';
begin
  if p_booking_id is null or p_review is null then
    raise exception using errcode = 'AS005', message = 'booking_id and review are required';
  end if;
  if pg_catalog.jsonb_typeof(p_offers) is distinct from 'array' or pg_catalog.jsonb_array_length(p_offers) > 3 then
    raise exception using errcode = 'AS005', message = 'offers is an array of at most three';
  end if;
  select * into b from public.bookings where id = p_booking_id for update;
  if not found or b.assignment_state <> 'manual_review' or private.review_key(b) <> p_review then
    return '{"outcome": "stale"}'::jsonb;
  end if;
  for offer in select e.value from pg_catalog.jsonb_array_elements(p_offers) e(value) loop
    begin
      offer_start := (offer ->> 'start_at')::timestamptz;
    exception when data_exception then
      offer_start := null;
    end;
    ids := private.uuid_list(offer -> 'table_ids', 6);
    if pg_catalog.jsonb_typeof(offer -> 'moves') is distinct from 'array'
       or pg_catalog.jsonb_array_length(offer -> 'moves') not between 1 and 20
       or offer_start is null or ids is null
       or not exists (select 1 from private.alternative_starts(b) s where s.start_at = offer_start)
       or exists (select 1 from pg_catalog.jsonb_array_elements(clean) e(value)
                   where (e.value ->> 'start_at')::timestamptz = offer_start)
       or (select count(*) from public.restaurant_tables t where t.id = any(ids) and t.restaurant_id = b.restaurant_id)
          <> pg_catalog.cardinality(ids) then
      raise exception using errcode = 'AS005', message = bad_offer;
    end if;
    clean_moves := '[]'::jsonb;
    moved := '{}';
    for move in select e.value from pg_catalog.jsonb_array_elements(offer -> 'moves') e(value) loop
      from_ids := private.uuid_list(move -> 'from_table_ids', 6);
      to_ids := private.uuid_list(move -> 'to_table_ids', 6);
      begin
        move_id := (move ->> 'booking_id')::uuid;
      exception when data_exception then
        move_id := null;
      end;
      if from_ids is null or to_ids is null or move_id is null or move_id = b.id or move_id = any(moved)
         or not exists (select 1 from public.bookings o where o.id = move_id and o.restaurant_id = b.restaurant_id)
         or (select count(*) from public.restaurant_tables t
              where t.id = any(from_ids || to_ids) and t.restaurant_id = b.restaurant_id)
            <> (select count(distinct x) from pg_catalog.unnest(from_ids || to_ids) x) then
        raise exception using errcode = 'AS005', message = bad_offer;
      end if;
      moved := moved || move_id;
      clean_moves := clean_moves || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
        'booking_id', move_id, 'from_table_ids', pg_catalog.to_jsonb(from_ids),
        'to_table_ids', pg_catalog.to_jsonb(to_ids)));
    end loop;
    clean := clean || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'start_at', offer_start, 'table_ids', pg_catalog.to_jsonb(ids), 'moves', clean_moves));
    described := described || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'start_at', offer_start, 'offset_minutes', (extract(epoch from offer_start - b.start_at) / 60)::integer,
      'tables', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                   from public.restaurant_tables t where t.id = any(ids)),
      'moved_bookings', pg_catalog.jsonb_array_length(clean_moves)));
  end loop;
  insert into private.reseating_offers (booking_id, review, offers)
  values (b.id, p_review, clean)
  on conflict (booking_id) do update
    set review = excluded.review, searched_at = pg_catalog.now(), offers = excluded.offers;
  perform private.record_event('assignment.coordinator', 'coordinator.reseating_alternatives', 'info',
    pg_catalog.jsonb_build_object('alternatives', described), b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'stored', 'offers', pg_catalog.jsonb_array_length(clean));
end $$;
comment on function public.review_offer_reseating(uuid, text, jsonb) is
  'Store what the coordinator''s re-seating search found for a booking in review (p_review from review_reseating_probes): up to three {start_at, table_ids, moves: [{booking_id, from_table_ids, to_table_ids}]}, [] for none; records coordinator.reseating_alternatives. {outcome: stale} and nothing stored when the booking has left that review or changed since. AS005 for a malformed offer. The offers are suggestions: ops.accept_alternative re-checks them under the restaurant lock.';

revoke all on function public.review_reseating_due(integer, uuid), public.review_reseating_probes(uuid),
  public.review_offer_reseating(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.review_reseating_due(integer, uuid), public.review_reseating_probes(uuid),
  public.review_offer_reseating(uuid, text, jsonb) to service_role;

-- The alternatives of a booking in review: the free ones, found now (private.free_seating_alternatives), and the
-- stored re-seating ones at other times, nearest first, up to p_limit. A re-seating one names the bookings it
-- moves and their tables before and after.
alter function private.seating_alternatives(public.bookings, integer) rename to free_seating_alternatives;
create function private.seating_alternatives(b public.bookings, p_limit integer default 3)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  free jsonb := private.free_seating_alternatives(b, p_limit);
  stored jsonb := private.current_reseating_offers(b);
begin
  if stored is null or pg_catalog.jsonb_array_length(stored) = 0 or coalesce(p_limit, 0) < 1 then
    return free;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(a.alternative order by abs((a.alternative ->> 'offset_minutes')::integer),
                                         (a.alternative ->> 'start_at')::timestamptz), '[]'::jsonb)
      from (select x.alternative from (
              select f as alternative from pg_catalog.jsonb_array_elements(free) f
              union all
              select private.alternative_json(b, (o ->> 'start_at')::timestamptz, pg_catalog.jsonb_build_object(
                       'ids', o -> 'table_ids',
                       'numbers', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                     from public.restaurant_tables t
                                    where t.id in (select i::uuid from pg_catalog.jsonb_array_elements_text(o -> 'table_ids') i))))
                     || pg_catalog.jsonb_build_object('moves', (
                          select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                   'booking_id', m ->> 'booking_id', 'reference', mb.reference,
                                   'from', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                              from public.restaurant_tables t
                                             where t.id in (select i::uuid from pg_catalog.jsonb_array_elements_text(m -> 'from_table_ids') i)),
                                   'to', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                                            from public.restaurant_tables t
                                           where t.id in (select i::uuid from pg_catalog.jsonb_array_elements_text(m -> 'to_table_ids') i)))
                                 order by mb.reference)
                            from pg_catalog.jsonb_array_elements(o -> 'moves') m
                            left join public.bookings mb on mb.id = (m ->> 'booking_id')::uuid))
                from pg_catalog.jsonb_array_elements(stored) o
               where (o ->> 'start_at')::timestamptz > pg_catalog.now()
                 and not exists (select 1 from pg_catalog.jsonb_array_elements(free) f
                                  where (f ->> 'start_at')::timestamptz = (o ->> 'start_at')::timestamptz)
            ) x
            order by abs((x.alternative ->> 'offset_minutes')::integer), (x.alternative ->> 'start_at')::timestamptz
            limit p_limit) a);
end $$;

-- Body as in 20261202200000, plus the stored re-seating offer at that time when no free table seats the party:
-- its moves are re-checked and made first (private.apply_moves: each booking still holds the tables it held,
-- may still move, and its new tables keep every rule and are free), then the booking's own tables.
create or replace function ops.accept_alternative(p_booking_id uuid, p_start_at timestamptz, p_actor text,
                                                  p_reason text default 'alternative time accepted')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  moved public.bookings;
  options jsonb;
  choice jsonb;
  offer jsonb;
  moved_bookings integer := 0;
  conflict jsonb;
  ids uuid[];
  problem text;
  busy text[];
  requested public.bookings;
  accepted jsonb;
  max_tables integer;
  actor text;
begin
  actor := private.act_as(p_actor, p_reason);
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
  max_tables := (private.settings_for(b.restaurant_id)).max_tables_per_booking;

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
    select e.value into offer from pg_catalog.jsonb_array_elements(private.current_reseating_offers(b)) e(value)
     where (e.value ->> 'start_at')::timestamptz = p_start_at;
    if offer is null then
      raise exception using errcode = 'AS009',
        message = pg_catalog.format('already taken: no free table or combination seats a party of %s at %s',
                                    b.party_size, private.alternative_json(b, p_start_at, '{}'::jsonb) ->> 'starts_local'),
        hint = 'See ops.manual_review_queue() for the alternatives left.';
    end if;
    -- Re-seat the others first; any refusal rolls all of it back. Two moves onto one table at once meet the
    -- holds' exclusion constraint: the offer no longer fits, as when a move's table was taken.
    begin
      conflict := private.apply_moves(moved, offer -> 'moves', max_tables);
    exception when exclusion_violation then
      conflict := '{"reason": "two of its moves need the same table at the same time"}'::jsonb;
    end;
    if conflict is not null then
      raise exception using errcode = 'AS009',
        message = pg_catalog.format('the re-seating this alternative needs is no longer possible: %s', conflict ->> 'reason'),
        hint = 'See ops.manual_review_queue() for the alternatives left.';
    end if;
    moved_bookings := pg_catalog.jsonb_array_length(offer -> 'moves');
    -- The moved bookings keep holds the engine may move again ('auto'), set by the operator who accepted.
    update public.booking_table_assignments a set assigned_by = actor
     where a.released_at is null
       and a.booking_id in (select (m ->> 'booking_id')::uuid from pg_catalog.jsonb_array_elements(offer -> 'moves') m);
    choice := pg_catalog.jsonb_build_object('ids', offer -> 'table_ids',
      'numbers', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number) from public.restaurant_tables t
                   where t.id in (select i::uuid from pg_catalog.jsonb_array_elements_text(offer -> 'table_ids') i)));
  end if;
  select pg_catalog.array_agg(x::uuid) into ids from pg_catalog.jsonb_array_elements_text(choice -> 'ids') x;

  -- Move the booking (in review it is not confirmed, so nothing re-assigns it; the turn policy re-applies its
  -- buffers), then check the moved row itself against every rule before seating it.
  requested := b;
  update public.bookings set start_at = moved.start_at, end_at = moved.end_at where id = b.id;
  select * into b from public.bookings where id = b.id;
  problem := private.plan_violation(b, ids, max_tables);
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
      'offset_minutes', accepted -> 'offset_minutes', 'tables', accepted -> 'tables')
    || case when moved_bookings > 0 then pg_catalog.jsonb_build_object('moved_bookings', moved_bookings)
            else '{}'::jsonb end,
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'moved_bookings', moved_bookings) || accepted;
end $$;
comment on function ops.accept_alternative(uuid, timestamptz, text, text) is
  'Take one of a reviewed booking''s alternatives (ops.manual_review_queue().alternatives): moves the booking to p_start_at, keeping its length, re-checks under the restaurant lock that the party can be seated then by the same rules — with free tables, or else by the re-seating that alternative lists, each move re-checked and made first — assigns the tables, confirms it (the guest is told the new time) and records ops.alternative_accepted (with moved_bookings when it re-seated others). Refuses and writes nothing when it cannot: AS009 (taken meanwhile, or a move no longer possible), AS007 (breaks a rule), AS005 (not an alternative start), AS001 (not in manual review). Asking again once done returns outcome unchanged.';

-- The alternatives in words, e.g. "20:15 (+15 min): 4+5; 19:30 (-30 min): 7, moving 2 bookings".
create function private.alternatives_note(p_alternatives jsonb)
returns text language sql immutable set search_path = '' as $$
  select case when p_alternatives is null then null
              when pg_catalog.jsonb_array_length(p_alternatives) = 0 then 'no alternative within ±90 minutes'
              else (select pg_catalog.string_agg(pg_catalog.format('%s (%s%s min): %s%s',
                             pg_catalog.right(a ->> 'starts_local', 5),
                             case when (a ->> 'offset_minutes')::integer > 0 then '+' else '' end,
                             a ->> 'offset_minutes',
                             (select pg_catalog.string_agg(n, '+') from pg_catalog.jsonb_array_elements_text(a -> 'tables') n),
                             case when a ? 'moves'
                                  then pg_catalog.format(', moving %s booking%s', pg_catalog.jsonb_array_length(a -> 'moves'),
                                                         case when pg_catalog.jsonb_array_length(a -> 'moves') = 1 then '' else 's' end)
                                  else '' end),
                             '; ' order by o)
                      from pg_catalog.jsonb_array_elements(p_alternatives) with ordinality e(a, o)) end;
$$;

-- Body as in 20261210180000, with the note in words from private.alternatives_note.
create or replace function ops.manual_review_queue(p_restaurant_id uuid default null)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text, guest_was_told text)
language sql stable security definer set search_path = '' as $$
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Tables an operator can take with ops.assign_tables now: none while the stay is outside service hours
         -- (assign_tables would refuse them); else free single tables that seat the party, least waste first,
         -- then free combinations the rules allow (private.table_groups) in which every table is needed —
         -- without any one of them too few seats, or the rest no longer joined; of these the first hundred
         -- found (fewer tables first) are ranked. Ten at most, least waste first.
         case when private.service_hours_problem(b) is not null then '[]'::jsonb else coalesce((
           select pg_catalog.jsonb_agg(o.option order by o.rank, o.option)
             from ((select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
                      from private.usable_tables(b.restaurant_id) t
                     where b.party_size between t.min_party_size and t.max_party_size
                       and private.busy_tables(b, array[t.id]) is null
                     order by 2 limit 10)
                   union all
                   (select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                              from public.restaurant_tables t where t.id = any(g.table_ids)),
                           100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
                      from private.table_groups(b.restaurant_id,
                             (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
                     where g.seats >= b.party_size
                       and private.every_table_needed(b.restaurant_id, g.table_ids, g.seats, b.party_size)
                       and private.busy_tables(b, g.table_ids) is null
                     limit 100)
                   order by 2 limit 10) o), '[]'::jsonb) end,
         x.alternatives,
         private.alternatives_note(x.alternatives),
         -- The last message the guest received (or is receiving): what they believe until someone tells them
         -- otherwise. One sent or sending message is taken; pending ones may never go out.
         coalesce((select pg_catalog.format('%s: %s, party of %s', o.kind, o.payload ->> 'starts_local',
                                            o.payload ->> 'party_size')
                     from public.notification_outbox o
                    where o.booking_id = b.id and o.status in ('sent', 'sending')
                    order by o.seq desc limit 1), 'nothing yet')
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id,
         lateral (select case when private.time_may_cure(b.manual_review_reason)
                              then private.seating_alternatives(b) end as alternatives) x
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
   order by b.start_at;
$$;

comment on function ops.manual_review_queue(uuid) is
  'Bookings waiting for an operator, soonest first, with the reason and the free tables (or combinations of adjacent tables) that would seat them now. For a booking in review because nothing fits at its time (no_table_fits, exact_search_budget_exhausted, outside_service_hours): alternatives, up to three nearest start times within ±90 minutes on the 15-minute grid with the tables each would get — free now, or (with moves) free once the bookings listed are re-seated, found by the coordinator function once the restaurant has nothing waiting — (take one with ops.accept_alternative), and alternatives_note, the same in words or "no alternative within ±90 minutes". guest_was_told: the last message the guest received (e.g. "booking_confirmed: 2030-10-07 18:00, party of 2"), or "nothing yet": a guest holding a confirmation should hear from the restaurant.';

-- One request to the coordinator function for the first review waiting for a re-seating search (not sent
-- within the last 20 seconds): its drain ends with that search. A booking in review is left as it is by the
-- request itself (assignment_begin answers noop). Once a sweep, so an idle function gets one review every 5
-- seconds, each in a request of its own; a review is sent three times at most (private.reseating_nudges).
create function private.nudge_reseating(p_restaurant_id uuid default null)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
begin
  if not private.dispatch_configured() then
    return false;
  end if;
  select x.* into b
    from pg_catalog.unnest(public.review_reseating_due(20, p_restaurant_id)) d(id) join public.bookings x on x.id = d.id
   where not exists (select 1 from private.reseating_nudges n
                      where n.booking_id = x.id and n.review = private.review_key(x)
                        and n.last_at > pg_catalog.clock_timestamp() - interval '20 seconds')
   order by x.start_at limit 1;
  if b.id is null then
    return false;
  end if;
  insert into private.reseating_nudges (booking_id, review, nudges, last_at)
  values (b.id, private.review_key(b), 1, pg_catalog.clock_timestamp())
  on conflict (booking_id) do update
    set nudges = case when private.reseating_nudges.review = excluded.review
                      then private.reseating_nudges.nudges + 1 else 1 end,
        review = excluded.review, last_at = excluded.last_at;
  return private.dispatch_booking(b.id, 'reseating') is not null;
end $$;

-- Body as in 20261210140000, nudging a re-seating search after each sweep. A nudge that fails does not stop
-- the minute's sweeps.
create or replace procedure private.run_sweeper(p_iterations integer default 1, p_interval_seconds numeric default 0)
language plpgsql as $$
declare
  done boolean;
begin
  for i in 1..p_iterations loop
    perform private.sweep(pg_catalog.clock_timestamp());
    commit;
    for j in 1..50 loop
      begin
        done := (private.recheck_floor_plans(pg_catalog.clock_timestamp()) ->> 'restaurants')::integer = 0;
      exception when others or query_canceled then
        done := true;
      end;
      commit;
      exit when done;
    end loop;
    begin
      perform private.nudge_reseating();
    exception when others or query_canceled then
      null;
    end;
    commit;
    if i < p_iterations then
      perform pg_catalog.pg_sleep(p_interval_seconds);
    end if;
  end loop;
end $$;

-- Where pg_cron runs jobs every few seconds (hosted Supabase), the sweeper's job runs private.sweep() alone:
-- there the nudge has a job of its own, as the floor-plan re-check does.
do $$
begin
  if (select pg_catalog.regexp_match(extversion, '^(\d+)\.(\d+)')::int[] >= array[1, 5] from pg_catalog.pg_extension
       where extname = 'pg_cron') then
    perform cron.schedule('assignment-reseating-nudge', '5 seconds', 'select private.nudge_reseating()');
  end if;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
