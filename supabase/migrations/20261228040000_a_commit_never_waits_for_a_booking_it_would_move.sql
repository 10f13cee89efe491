-- A commit never waits long for a booking it would move.
--
-- private.apply_moves locked each booking a re-optimising plan moves with FOR UPDATE, waiting up to the
-- commit's 5 s lock_timeout while holding the committing booking's own row: a platform's UPDATE of several
-- bookings of the restaurant at once (notes for an evening, say) that took a moved booking's row first and then
-- waited for the committing one's closed a cycle, and Postgres aborted the platform's statement (40P01) after
-- deadlock_timeout (1 s), an error its ordinary update had no reason to expect. The lock now waits 50 ms at
-- most, well within deadlock_timeout, so the commit gives up first: it ends as a conflict ("a booking to move is
-- being changed by another transaction") and the coordinator plans again on a fresh snapshot; an operator
-- accepting an alternative is told to try again (AS008), the offer still standing. It is FOR NO KEY UPDATE,
-- which the key-share locks of rows being written about the booking (its events, messages, history) do not
-- block, as a plain FOR UPDATE did; every UPDATE or DELETE of the booking still does.
-- private.apply_moves: body as in 20261226000000, with that lock.

create or replace function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer, p_operator text default null)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
  conflict text;
  lock_wait text := pg_catalog.current_setting('lock_timeout');
begin
  if pg_catalog.jsonb_array_length(p_moves) > 200 then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('one commit moves at most 200 bookings, not %s', pg_catalog.jsonb_array_length(p_moves));
  end if;
  if (select count(*) <> count(distinct x.booking_id)
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)) then
    raise exception using errcode = 'AS007', message = 'a proposed move list names the same booking twice';
  end if;
  -- The bookings to move, locked at once in one order, waiting 50 ms at most for a row another transaction holds:
  -- a platform's update of several bookings may be waiting for this commit's own row, and then this commit must
  -- be the one to give up, well within deadlock_timeout. (One statement, so one subtransaction, however many.)
  begin
    perform pg_catalog.set_config('lock_timeout', '50ms', true);
    perform 1 from public.bookings
     where id in (select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))
       and restaurant_id = b.restaurant_id
     order by id
       for no key update;
    perform pg_catalog.set_config('lock_timeout', lock_wait, true);
  exception when lock_not_available then
    if p_operator is not null then
      raise exception using errcode = 'AS008',
        message = 'a booking this alternative moves is being changed by another transaction: try again in a few seconds';
    end if;
    conflict := 'a booking to move is being changed by another transaction';
  end;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[]) loop
    exit when conflict is not null;
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto') into held, staff
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t) then
      conflict := 'a booking to move changed since the snapshot';
      exit;
    end if;
    violation := private.table_rule_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
    -- Taken since the snapshot by a booking the plan does not move: a re-plan, not a failed insert.
    if private.busy_tables(o, m.to_table_ids,
         array(select x.booking_id from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid))) is not null then
      conflict := 'a table a booking would move to was taken since the snapshot';
      exit;
    end if;
  end loop;
  -- Two of its moves onto one table at once: a re-plan, as when a move's table was taken (one of those bookings
  -- may have changed its time since the snapshot), answered here rather than by a failed insert.
  if conflict is null and exists (
      select 1
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[])
        join pg_catalog.jsonb_to_recordset(p_moves) as y(booking_id uuid, to_table_ids uuid[])
          on y.booking_id > x.booking_id and y.to_table_ids operator(pg_catalog.&&) x.to_table_ids
        join public.bookings ox on ox.id = x.booking_id
        join public.bookings oy on oy.id = y.booking_id
       where private.blocked_window(ox) operator(pg_catalog.&&) private.blocked_window(oy)) then
    conflict := 'two of its moves need the same table at the same time';
  end if;
  if conflict is not null then
    -- The commit re-plans on a fresh snapshot; recorded as its lost races are. An operator's refusal is rolled
    -- back with everything else, so it records nothing.
    if p_operator is null then
      perform private.record_pipeline_event(b.assignment_mode, 'coordinator.commit_conflict', 'info',
        pg_catalog.jsonb_build_object('cause', 'moves_stale', 'detail', conflict, 'attempt', b.attempt_count,
                                      'moved_bookings', pg_catalog.jsonb_array_length(p_moves)),
        b.restaurant_id, b.id);
    end if;
    return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', conflict);
  end if;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid) loop
    perform private.release_booking_tables(m.booking_id, 'moved');
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[]) loop
    insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
    select o2.id, o2.restaurant_id, t, private.blocked_window(o2), 'auto', coalesce(p_operator, 'coordinator:reoptimize')
      from public.bookings o2, pg_catalog.unnest(m.to_table_ids) t where o2.id = m.booking_id;
    -- The holds stay 'auto' (the engine may move them again); who moved them is the operator, when one did.
    if p_operator is null then
      perform private.record_pipeline_event(b.assignment_mode, 'coordinator.booking_moved', 'info',
        pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
        b.restaurant_id, m.booking_id);
    else
      perform private.record_event('assignment.ops', 'ops.booking_moved', 'info',
        pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
        b.restaurant_id, m.booking_id);
    end if;
  end loop;
  return null;
end $$;

do $$
begin
  execute pg_catalog.format('comment on function ops.accept_alternative(uuid, timestamptz, text, text) is %L',
    pg_catalog.obj_description('ops.accept_alternative(uuid, timestamptz, text, text)'::regprocedure, 'pg_proc')
    || ' AS008 when a booking its re-seating moves is being changed by another transaction at that moment: try again in a few seconds (the offer still stands).');
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
