-- A review's re-seating search that ran out of its budget goes on in a later request, where it stopped.
--
-- The coordinator function searched each review once, in one request's budget (1 s, sized for a hosted
-- request's CPU). On the quality benchmark's busiest days (ρ 1.2) a quarter of the reviews it searched without
-- finding an offer had nearer times it never decided: the budget ran out first (288 of 1,160, seed 12). Now
-- the search reports those times (review_offer_reseating's p_undecided), and the review is listed again
-- (review_reseating_due) with only those times to try (review_reseating_probes), up to three searches in all —
-- each in a request of its own, so none needs more CPU than before. What a later search finds joins the
-- offers already stored, nearest first, three at most.

alter table private.reseating_offers
  add column undecided timestamptz[] not null default '{}',
  add column searches integer not null default 1;
comment on column private.reseating_offers.undecided is
  'Start times the last search of this review left undecided (its budget ran out), nearer than its third offer: a later search tries these alone.';
comment on column private.reseating_offers.searches is
  'Searches of this review so far; it is not searched again after private.reseating_searches_per_review().';

-- Searches per review at most: each gets one request's budget. (These two have no search_path of their own, every name being qualified, so the due list's planner inlines
-- them, as private.review_key.)
create function private.reseating_searches_per_review()
returns integer language sql immutable as $$ select 3 $$;

-- The times a search of this review has yet to try, when it was searched and left some undecided with searches
-- to spare; null when it was never searched in this review, '{}' when it is done.
create function private.reseating_left(b public.bookings)
returns timestamptz[] language sql stable as $$
  select case when o.searches < private.reseating_searches_per_review() then o.undecided
              else '{}'::timestamptz[] end
    from private.reseating_offers o
   where o.booking_id = b.id and o.review = private.review_key(b);
$$;

-- Body as in 20261211000000, with a review whose search left times undecided listed again.
create or replace function public.review_reseating_due(p_limit integer default 5, p_restaurant_id uuid default null)
returns uuid[] language plpgsql stable security definer set search_path = '' as $$
begin
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception using errcode = 'AS005', message = 'limit is 1 to 100';
  end if;
  -- Called by every sweep and every drain that runs dry: the reviews not yet searched, or searched with times
  -- left (and not given up on), first by the booking's own columns, then the restaurant checks once per
  -- restaurant among those few.
  return coalesce((
    with candidate as materialized (
      select b.id, b.start_at, b.restaurant_id from public.bookings b
       where b.assignment_state = 'manual_review' and b.start_at > pg_catalog.now()
         and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
         and private.time_may_cure(b.manual_review_reason)
         and not exists (select 1 from private.reseating_offers o
                          where o.booking_id = b.id and o.review = private.review_key(b)
                            and (pg_catalog.cardinality(o.undecided) = 0
                                 or o.searches >= private.reseating_searches_per_review()))
         and not exists (select 1 from private.reseating_nudges n
                          where n.booking_id = b.id and n.review = private.review_key(b)
                            and n.nudges >= 3)),
    restaurant as materialized (select distinct c.restaurant_id from candidate c),
    ready as materialized (
      select r.restaurant_id from restaurant r
       where private.runs_v3(r.restaurant_id) and private.restaurant_is_idle(r.restaurant_id))
    select pg_catalog.array_agg(x.id order by x.start_at)
      from (select c.id, c.start_at from candidate c join ready using (restaurant_id)
             order by c.start_at limit p_limit) x), '{}');
end $$;
comment on function public.review_reseating_due(integer, uuid) is
  'Bookings in review that a re-seating search may help (nothing fits at their time), not yet searched in this review or searched with times left undecided (three searches at most), of restaurants on the V3 engine with nothing waiting (of one restaurant with p_restaurant_id); soonest first, up to p_limit (1–100).';

-- Body as in 20261211000000, with a search that goes on given only the times left.
create or replace function public.review_reseating_probes(p_booking_id uuid)
returns jsonb language plpgsql stable security definer set search_path = '' as $$
declare
  b public.bookings;
  settings private.pipeline_settings;
  left_to_try timestamptz[];
begin
  select * into b from public.bookings where id = p_booking_id;
  if not found then
    return '{"outcome": "skip", "reason": "booking_not_found"}'::jsonb;
  end if;
  if b.assignment_state <> 'manual_review' or not private.time_may_cure(b.manual_review_reason) then
    return '{"outcome": "skip", "reason": "not_in_review_for_lack_of_tables"}'::jsonb;
  end if;
  if not private.runs_v3(b.restaurant_id) then
    return '{"outcome": "skip", "reason": "not_on_v3"}'::jsonb;
  end if;
  left_to_try := private.reseating_left(b);
  if pg_catalog.cardinality(left_to_try) = 0 then
    return '{"outcome": "skip", "reason": "already_searched"}'::jsonb;
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
    'search', 1 + coalesce((select o.searches from private.reseating_offers o
                             where o.booking_id = b.id and o.review = private.review_key(b)), 0),
    'snapshot', private.assignment_snapshot(b, settings),
    'probes', coalesce((select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(p) order by abs(p.offset_minutes), p.start_at)
                          from private.reseating_probe_starts(b) p
                         where left_to_try is null or p.start_at = any(left_to_try)), '[]'::jsonb));
end $$;
comment on function public.review_reseating_probes(uuid) is
  'For the coordinator''s re-seating search: the snapshot of a booking in review (with the bookings that may move) and the start times to try, {outcome: ready, review, search, snapshot, probes: [{start_at, offset_minutes, window_start, window_end}]} — search is this search''s number in the review (1 for the first), and when an earlier search of this review left times undecided, the probes are only those; or {outcome: skip, reason} when it is not in review for lack of tables, was searched in this review already (with nothing left to try), its restaurant is not on the V3 engine, or has bookings waiting.';

-- p_undecided and p_search are new, so the function is dropped and created again (grants below). Body as in
-- 20261211000000 for the offers; then a search that goes on adds its offers to those stored for the review.
drop function public.review_offer_reseating(uuid, text, jsonb);
create function public.review_offer_reseating(p_booking_id uuid, p_review text, p_offers jsonb,
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
    raise exception using errcode = 'AS005', message = 'search is review_reseating_probes'' search number, 1 to 3';
  end if;
  select * into b from public.bookings where id = p_booking_id for update;
  if not found or b.assignment_state <> 'manual_review' or private.review_key(b) <> p_review then
    return '{"outcome": "stale"}'::jsonb;
  end if;
  begin
    -- Hints for a later search: a time no longer among the booking's alternative times (it passed during the
    -- search) is dropped, not refused.
    select pg_catalog.array_agg(distinct x::timestamptz) into undecided
      from pg_catalog.jsonb_array_elements_text(p_undecided) x
     where x::timestamptz in (select s.start_at from private.alternative_starts(b) s);
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
                   where (e.value ->> 'start_at')::timestamptz in (select s.start_at from private.alternative_starts(b) s)
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
comment on function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) is
  'Store what the coordinator''s re-seating search found for a booking in review (p_review and p_search from review_reseating_probes): up to three {start_at, table_ids, moves: [{booking_id, from_table_ids, to_table_ids}]}, [] for none, and p_undecided, the start times (ISO) its budget left undecided, which a later search tries (three searches at most); a later search''s offers join the stored ones, nearest first, three at most. Records coordinator.reseating_alternatives. {outcome: stale} and nothing stored when the booking has left that review or changed since, or this search of the review was stored already. AS005 for a malformed offer or time. The offers are suggestions: ops.accept_alternative re-checks them under the restaurant lock.';

revoke all on function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) from public, anon, authenticated;
grant execute on function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
