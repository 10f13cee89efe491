-- One commit moves at most 200 bookings, two of its moves onto one table at once are answered before anything is
-- written, and a sweep goes on when Vault cannot be read.
--
-- A review of the moves path found that nothing bounded the length of a commit's move list: each move re-reads
-- the whole list under the restaurant lock, so a list of thousands held every begin and commit of the
-- restaurant for as long. The bounded search moves at most 5 bookings and a stored re-seating offer 20; the
-- exact fallback moves as few as it can (4 to 12 on the quality benchmark's days); more than 200 in one commit,
-- far beyond any plan the engine makes, is refused (AS005). It also found that
-- private.apply_moves checked each move's new tables only against the bookings the plan does not move, so two
-- moves onto one table at overlapping times each passed and the second insert failed on the double-booking
-- constraint, which the commit's handler (holding no lock by then) and ops.accept_alternative each caught on
-- their own. Such a pair is now found before anything is released and answered as the conflict it was: the
-- commit re-plans on a fresh snapshot, an alternative is no longer possible (AS009). (One of the two may have
-- changed its time since the snapshot, so it is not taken for the engine's error.) Body as in 20261210000000
-- otherwise.
--
-- A review of the sweeper found that private.dispatch_configured(), read at the start of every sweep, raised
-- when Vault's secrets could not be read (a decryption key problem, a missing extension), so every sweep
-- failed: expired leases were never taken back and nothing due was dispatched. Unreadable secrets now count
-- as not configured: the sweep expires leases and escalates as it does without them, and records
-- dispatch.not_configured. Body as in 20261204010000 otherwise.

create or replace function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
begin
  if pg_catalog.jsonb_array_length(p_moves) > 200 then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('one commit moves at most 200 bookings, not %s', pg_catalog.jsonb_array_length(p_moves));
  end if;
  if (select count(*) <> count(distinct x.booking_id)
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)) then
    raise exception using errcode = 'AS007', message = 'a proposed move list names the same booking twice';
  end if;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[]) loop
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id for update;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto') into held, staff
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t) then
      return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', 'a booking to move changed since the snapshot');
    end if;
    violation := private.table_rule_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
    -- Taken since the snapshot by a booking the plan does not move: a re-plan, not a failed insert.
    if private.busy_tables(o, m.to_table_ids,
         array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))) is not null then
      return pg_catalog.jsonb_build_object('outcome', 'conflict',
                                           'reason', 'a table a booking would move to was taken since the snapshot');
    end if;
  end loop;
  -- Two of its moves onto one table at once: a re-plan, as when a move's table was taken (one of those bookings
  -- may have changed its time since the snapshot), answered here rather than by a failed insert.
  if exists (
      select 1
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[])
        join pg_catalog.jsonb_to_recordset(p_moves) as y(booking_id uuid, to_table_ids uuid[])
          on y.booking_id > x.booking_id and y.to_table_ids operator(pg_catalog.&&) x.to_table_ids
        join public.bookings ox on ox.id = x.booking_id
        join public.bookings oy on oy.id = y.booking_id
       where private.blocked_window(ox) operator(pg_catalog.&&) private.blocked_window(oy)) then
    return pg_catalog.jsonb_build_object('outcome', 'conflict',
                                         'reason', 'two of its moves need the same table at the same time');
  end if;
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
exception when others then
  return false;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
