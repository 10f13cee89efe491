

-- Re-optimisation: move confirmed bookings that are not yet seated to other tables, as the engine proposed,
-- so a new booking fits. Every move is checked against what the engine saw (the booking still holds exactly
-- those tables and may still move) and against the same rules as any plan. Returns null when applied, or a
-- conflict outcome when the world changed since the snapshot. All tables are released before any is taken,
-- so bookings can swap; the exclusion constraint checks the end state. The caller holds the restaurant
-- lock, taken before any booking row, so locking the moved bookings' rows here cannot deadlock.
create function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
begin
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[]) loop
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id for update;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto') into held, staff
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t) then
      return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', 'a booking to move changed since the snapshot');
    end if;
    violation := private.plan_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid) loop
    perform private.release_booking_tables(m.booking_id, 'moved');
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[]) loop
    insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
    select o2.id, o2.restaurant_id, t, private.blocked_window(o2), 'auto', 'coordinator:reoptimize'
      from public.bookings o2, pg_catalog.unnest(m.to_table_ids) t where o2.id = m.booking_id;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.booking_moved', 'info',
      pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
      b.restaurant_id, m.booking_id);
  end loop;
  return null;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
