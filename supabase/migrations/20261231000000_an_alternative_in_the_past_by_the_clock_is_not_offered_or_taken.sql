-- An alternative whose time has passed by the clock is neither offered nor taken.
--
-- A review of the alternatives found that private.alternative_starts left out the times before now(), the
-- start of the asking transaction. ops.accept_alternative takes the restaurant's lock and then the booking's,
-- without a time limit, before it asks; an accept that waited behind another operator's open transaction from
-- 18:58 to 19:10 therefore still took the 19:00 alternative, moved the booking to a time already past,
-- confirmed it and queued a message telling the guest to come at 19:00. The lock window's check was moved to
-- the clock for the other bookings a move touches (20261230050000); the reviewed booking's own new time was
-- left on now(). The times are now cut at an instant the caller may name, p_now, which is the clock when not
-- named: for the accept (through private.accept_alternative_at), the queue's listing and the re-seating
-- probes. Storing the offers the coordinator found (private.review_offer_reseating_unchecked) dropped an
-- offer whose time had passed by now() and refused one not among the alternatives: judged by two clocks, an
-- offer whose time passed while the call waited for the booking's lock would have been refused, and the whole
-- search's offers lost with it. It now judges every time at one instant, read on the clock once it holds the
-- booking. Bodies as in 20261225010000 otherwise; alternative_starts now reads the clock, so it is volatile.

drop function private.alternative_starts(public.bookings);

-- Start times to offer instead, nearest first: the booking's local 15-minute grid point, then whole
-- 15-minute steps of real time from it, within ±90 minutes, after p_now; each local time once (the nearer of
-- the two an autumn night has, the earlier on a tie), never the booking's own.
create function private.alternative_starts(b public.bookings, p_now timestamptz default pg_catalog.clock_timestamp())
returns table (start_at timestamptz, offset_minutes integer) language plpgsql volatile set search_path = '' as $$
#variable_conflict use_column
declare
  zone text;
  local_start timestamp;
  grid_point timestamptz;
begin
  select r.timezone, b.start_at at time zone r.timezone into zone, local_start
    from public.restaurants r where r.id = b.restaurant_id;
  grid_point := b.start_at - pg_catalog.make_interval(mins => extract(minute from local_start)::integer % 15,
                                                      secs => extract(second from local_start));
  return query
  select c.start_at, c.offset_minutes
    from (select c.start_at, (extract(epoch from c.start_at - b.start_at) / 60)::integer as offset_minutes,
                 pg_catalog.row_number() over (partition by c.start_at at time zone zone
                                               order by abs(extract(epoch from c.start_at - b.start_at)), c.start_at) as nth
            from (select grid_point + pg_catalog.make_interval(mins => 15 * k) as start_at
                    from pg_catalog.generate_series(-6, 6) k) c
           where c.start_at <> b.start_at
             and abs(extract(epoch from c.start_at - b.start_at)) <= 90 * 60
             and c.start_at > coalesce(p_now, pg_catalog.clock_timestamp())
             and pg_catalog.date_trunc('minute', c.start_at at time zone zone)
                 <> pg_catalog.date_trunc('minute', local_start)) c
   where c.nth = 1
   order by abs(c.offset_minutes), c.start_at;
end $$;

-- Body as in 20261225010000 (there public.review_offer_reseating; 20261228140000 renamed it), with every time
-- judged at one instant.
create or replace function private.review_offer_reseating_unchecked(p_booking_id uuid, p_review text, p_offers jsonb,
                                                                     p_undecided jsonb default '[]', p_search integer default 1)
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
  undecided timestamptz[];
  earlier private.reseating_offers;
  kept jsonb;
  farthest timestamptz;
  described jsonb;
  at timestamptz;
  bad_offer constant text :=
    'an offer is {start_at: one of the booking''s alternative times, table_ids: 1 to 6 of its restaurant''s tables, moves: 1 to 20 of {booking_id: another booking of the restaurant, from_table_ids, to_table_ids: 1 to 6 of its tables each}}, each time once';
begin
  if p_booking_id is null or p_review is null then
    raise exception using errcode = 'AS005', message = 'booking_id and review are required';
  end if;
  if pg_catalog.jsonb_typeof(p_offers) is distinct from 'array' or pg_catalog.jsonb_array_length(p_offers) > 3 then
    raise exception using errcode = 'AS005', message = 'offers is an array of at most three';
  end if;
  if pg_catalog.jsonb_typeof(p_undecided) is distinct from 'array' or pg_catalog.jsonb_array_length(p_undecided) > 12
     or exists (select 1 from pg_catalog.jsonb_array_elements(p_undecided) e where pg_catalog.jsonb_typeof(e) <> 'string') then
    raise exception using errcode = 'AS005', message = 'undecided is an array of at most twelve start times (ISO 8601)';
  end if;
  if p_search is null or p_search not between 1 and private.reseating_searches_per_review() then
    raise exception using errcode = 'AS005',
      message = 'search is review_reseating_probes'' search number, 1 to ' || private.reseating_searches_per_review();
  end if;
  select * into b from public.bookings where id = p_booking_id for update;
  if not found or b.assignment_state <> 'manual_review' or private.review_key(b) <> p_review then
    return '{"outcome": "stale"}'::jsonb;
  end if;
  -- One instant for every time this call judges, read once the booking is held: its lock may have waited.
  at := pg_catalog.clock_timestamp();
  begin
    -- Hints for a later search: a time no longer among the booking's alternative times (it passed during the
    -- search) is dropped, not refused.
    select pg_catalog.array_agg(distinct x::timestamptz) into undecided
      from pg_catalog.jsonb_array_elements_text(p_undecided) x
     where x::timestamptz in (select s.start_at from private.alternative_starts(b, at) s);
  exception when data_exception then
    raise exception using errcode = 'AS005', message = 'undecided is an array of at most twelve start times (ISO 8601)';
  end;
  undecided := coalesce(undecided, '{}');
  -- Each search of a review is stored once, in order: a second store of the same search (two instances took the
  -- same review), or one for a review that is done, would undo what is stored or count a search twice.
  select * into earlier from private.reseating_offers o where o.booking_id = b.id and o.review = p_review;
  if p_search <> coalesce(earlier.searches, 0) + 1
     or (earlier.booking_id is not null and pg_catalog.cardinality(earlier.undecided) = 0) then
    return '{"outcome": "stale"}'::jsonb;
  end if;
  for offer in select e.value from pg_catalog.jsonb_array_elements(p_offers) e(value) loop
    begin
      offer_start := (offer ->> 'start_at')::timestamptz;
    exception when data_exception then
      offer_start := null;
    end;
    -- A time that passed during the search is dropped, as its undecided times are, not refused.
    continue when offer_start is not null and offer_start <= at;
    ids := private.uuid_list(offer -> 'table_ids', 6);
    if pg_catalog.jsonb_typeof(offer -> 'moves') is distinct from 'array'
       or pg_catalog.jsonb_array_length(offer -> 'moves') not between 1 and 20
       or offer_start is null or ids is null
       or not exists (select 1 from private.alternative_starts(b, at) s where s.start_at = offer_start)
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
  end loop;

  -- A search that goes on adds to what the earlier ones found (those still ahead); a time offered now replaces
  -- an earlier offer at that time. Nearest first, the earlier start on a tie, three at most. Its undecided
  -- times can only be among those it was given.
  if earlier.booking_id is not null then
    undecided := array(select u from pg_catalog.unnest(undecided) u where u = any(earlier.undecided));
  end if;
  select coalesce(pg_catalog.jsonb_agg(x.o order by x.distance, x.at), '[]'::jsonb) into kept
    from (select a.o, a.at, abs(extract(epoch from a.at - b.start_at)) as distance
            from (select e.value as o, (e.value ->> 'start_at')::timestamptz as at
                    from pg_catalog.jsonb_array_elements(clean) e
                  union all
                  select e.value, (e.value ->> 'start_at')::timestamptz
                    from pg_catalog.jsonb_array_elements(coalesce(earlier.offers, '[]'::jsonb)) e
                   where (e.value ->> 'start_at')::timestamptz in (select s.start_at from private.alternative_starts(b, at) s)
                     and not exists (select 1 from pg_catalog.jsonb_array_elements(clean) c
                                      where (c.value ->> 'start_at')::timestamptz = (e.value ->> 'start_at')::timestamptz)) a
           order by distance, a.at limit 3) x;
  -- With three offers, a time farther than the third no longer matters.
  if pg_catalog.jsonb_array_length(kept) = 3 then
    farthest := (kept -> 2 ->> 'start_at')::timestamptz;
    undecided := array(select u from pg_catalog.unnest(undecided) u
                        where abs(extract(epoch from u - b.start_at)) < abs(extract(epoch from farthest - b.start_at))
                           or (abs(extract(epoch from u - b.start_at)) = abs(extract(epoch from farthest - b.start_at))
                               and u < farthest));
  end if;
  insert into private.reseating_offers (booking_id, review, offers, undecided, searches)
  values (b.id, p_review, kept, undecided, p_search)
  on conflict (booking_id) do update
    set review = excluded.review, searched_at = pg_catalog.now(), offers = excluded.offers,
        undecided = excluded.undecided, searches = excluded.searches;
  -- The sweeper's nudges count requests that stored nothing; a search that went on starts their count again.
  update private.reseating_nudges set nudges = 0 where booking_id = b.id and review = p_review;

  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'start_at', (e.value ->> 'start_at')::timestamptz,
           'offset_minutes', (extract(epoch from (e.value ->> 'start_at')::timestamptz - b.start_at) / 60)::integer,
           'tables', (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                        from public.restaurant_tables t
                       where t.id in (select x::uuid from pg_catalog.jsonb_array_elements_text(e.value -> 'table_ids') x)),
           'moved_bookings', pg_catalog.jsonb_array_length(e.value -> 'moves')) order by n), '[]'::jsonb)
    into described
    from pg_catalog.jsonb_array_elements(kept) with ordinality e(value, n);
  perform private.record_event('assignment.coordinator', 'coordinator.reseating_alternatives', 'info',
    pg_catalog.jsonb_build_object('alternatives', described,
                                  'search', p_search,
                                  'undecided', pg_catalog.cardinality(undecided)),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'stored', 'offers', pg_catalog.jsonb_array_length(kept));
end $$;

-- create or replace drops the lock limit 20261228140000 kept on it.
alter function private.review_offer_reseating_unchecked(uuid, text, jsonb, jsonb, integer) set lock_timeout = '5s';

revoke all on all routines in schema private from public, anon, authenticated;
