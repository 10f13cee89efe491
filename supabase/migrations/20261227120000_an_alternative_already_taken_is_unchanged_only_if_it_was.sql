-- Asking for an alternative a booking already took answers "unchanged"; asking for the time of a booking
-- confirmed another way does not.
--
-- A review of the operator calls found that ops.accept_alternative answered {"outcome": "unchanged"} for any
-- confirmed booking whose start was the time asked for: an operator who pasted the wrong booking's id, or a
-- booking's own time, was told the alternative was in place though none had been taken. "Unchanged" is now the
-- answer only when an alternative was accepted at that time and the booking has not been confirmed again since
-- (ops.alternative_accepted, written in the same transaction as the confirmation); otherwise a confirmed
-- booking is refused as any booking not in review is (AS001). Body as in 20261226000000 otherwise.

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
  -- Asking again for what is already in place changes nothing (an operator's retry after a timeout): an
  -- alternative accepted at that very time and still in place. A booking confirmed some other way, at its own
  -- time, is not an alternative taken (below: AS001), whatever the time asked for.
  if b.assignment_state = 'confirmed' and b.start_at = p_start_at
     and exists (select 1 from public.observability_events e
                  where e.booking_id = b.id and e.event_type = 'ops.alternative_accepted'
                    and (e.context ->> 'start_at')::timestamptz = p_start_at
                    and e.created_at >= (select max(h.created_at) from public.booking_assignment_state_history h
                                          where h.booking_id = b.id and h.to_state = 'confirmed')) then
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
    -- Re-seat the others first, as this operator's moves; any refusal rolls all of it back. The offer was
    -- checked against the rules when it was found, so a move that breaks one now (a table taken out of
    -- service since, a joint removed) is an offer no longer possible, as a move whose table was taken is.
    begin
      conflict := private.apply_moves(moved, offer -> 'moves', max_tables, actor);
    exception when sqlstate 'AS007' then
      conflict := pg_catalog.jsonb_build_object('reason', sqlerrm);
    -- A seated party's longer stay holds tables without the restaurant lock, so it can take one a move is
    -- about to: as taken meanwhile.
    when exclusion_violation then
      conflict := '{"reason": "a table a booking would move to was taken meanwhile"}'::jsonb;
    end;
    if conflict is not null then
      raise exception using errcode = 'AS009',
        message = pg_catalog.format('the re-seating this alternative needs is no longer possible: %s', conflict ->> 'reason'),
        hint = 'See ops.manual_review_queue() for the alternatives left.';
    end if;
    moved_bookings := pg_catalog.jsonb_array_length(offer -> 'moves');
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
  'Take one of a reviewed booking''s alternatives (ops.manual_review_queue().alternatives): moves the booking to p_start_at, keeping its length, re-checks under the restaurant lock that the party can be seated then by the same rules — with free tables, or else by the re-seating that alternative lists, each move re-checked, made first and recorded as ops.booking_moved — assigns the tables, confirms it (the guest is told the new time) and records ops.alternative_accepted (with moved_bookings when it re-seated others). Refuses and writes nothing when it cannot: AS009 (taken meanwhile, or a move no longer possible, also one that breaks a rule now), AS007 (breaks a rule), AS005 (not an alternative start), AS001 (not in manual review). Asking again once done (that alternative accepted, at that time, and still in place) returns outcome unchanged; a booking confirmed another way is AS001.';


revoke all on all routines in schema private from public, anon, authenticated;
