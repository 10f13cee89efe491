-- An operator's seat lost to a seated party is refused with a reason. ops.assign_tables and
-- ops.accept_alternative check the tables free under the restaurant lock, but a platform's change to a
-- checked-in party's stay holds its tables for the longer stay without that lock (it runs in the platform's
-- UPDATE, which already holds the booking's row; taking the restaurant lock there would invert the order every
-- writer follows). When that extension commits between the check and the seat, the seat's insert met the
-- exclusion constraint and the operator saw a bare 23P01 instead of AS009 ("already taken"). Nothing was
-- double-booked, and nothing is now: the refusal is the same, with a reason an operator can act on.
-- The coordinator's seats keep handling that conflict themselves (assignment_commit answers "conflict" and the
-- booking is retried), and enter no sub-transaction for it here.

-- The booking's hold on its tables for its blocked window (the insert seat_and_confirm made inline;
-- PL/pgSQL, so its plan is kept per connection).
create or replace function private.hold_tables(b public.bookings, p_table_ids uuid[], p_source text, p_assigned_by text)
returns void language plpgsql set search_path = '' as $$
begin
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, t, private.blocked_window(b), p_source, p_assigned_by
    from pg_catalog.unnest(p_table_ids) t;
end $$;

-- Body as in 20261204000000, with an operator's seat that lost its tables refused as AS009.
create or replace function private.seat_and_confirm(
  b public.bookings, p_table_ids uuid[], p_source text, p_assigned_by text, p_strategy text,
  p_reason text, p_assigned_metadata jsonb, p_confirmed_metadata jsonb, p_actor text
) returns integer language plpgsql set search_path = '' as $$
begin
  perform private.release_booking_tables(b.id, 'superseded');
  if p_source = 'ops' then
    begin
      perform private.hold_tables(b, p_table_ids, p_source, p_assigned_by);
    exception when exclusion_violation then
      raise exception using errcode = 'AS009',
        message = pg_catalog.format('already taken for this booking''s time: %s (claimed while this was being checked)',
                                    coalesce(pg_catalog.array_to_string(private.busy_tables(b, p_table_ids), ', '),
                                             'a table asked for')),
        hint = 'See ops.manual_review_queue() for tables that are free.';
    end;
  else
    perform private.hold_tables(b, p_table_ids, p_source, p_assigned_by);
  end if;
  return private.walk_assignment_states(b.id, array['assigned', 'confirmed'], b.assignment_state_version, p_reason,
    array[coalesce(p_assigned_metadata, '{}'::jsonb), coalesce(p_confirmed_metadata, '{}'::jsonb)], p_actor,
    p_strategy => p_strategy);
end $$;

revoke all on function private.hold_tables(public.bookings, uuid[], text, text) from public, anon, authenticated;
