-- A booking whose attempt cannot even begin is escalated while traffic flows, as it is when all is quiet.
--
-- Only the sweeper counted dispatches (dispatch_count), and escalates a booking handed out max_dispatches
-- times (12) without an attempt beginning; assignment_begin sets the count back to 0. A claim loop hands
-- bookings out too, but did not count: a booking whose assignment_begin fails every time (a statement
-- timeout, an error its row causes) was claimed again every 10 s while any claim loop ran, its failed begin
-- rolled back with nothing recorded, and the sweeper, which must find it due in the ~100 ms before a loop
-- takes it, needed 12 such wins: hours under steady traffic instead of about ten minutes. A claim now counts
-- as a dispatch, and a booking at the limit is left to the sweeper, which escalates it at its next run.
-- Body as in 20261208000000 (renamed in 20261209020000) otherwise.
create or replace function private.assignment_claim_due_unchecked(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now()
) returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[];
  max_dispatches integer := (private.settings_for(null)).max_dispatches;
begin
  -- Its commit need not wait for the disk (see 20261205020000), unless it runs inside a transaction that
  -- wrote before it.
  if pg_catalog.pg_current_xact_id_if_assigned() is null then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 1000';
  end if;
  if p_visibility_ms is null or p_visibility_ms not between 100 and 600000 then
    raise exception using errcode = 'AS005', message = 'visibility_ms must be between 100 and 600000';
  end if;
  -- A second pass only when nothing was due and a queue nobody would wake was woken just now.
  for pass in 1..2 loop
    -- Claiming pushes next_attempt_at out by the visibility timeout, so a claimed booking whose worker dies
    -- becomes due again instead of being lost, and is no longer a new booking nobody claimed. The conditions
    -- are on the locked rows themselves, so they are checked again once a row is locked.
    with candidates as (
      (select b.id from public.bookings b
        where b.next_attempt_at <= p_now and private.is_queued(b.assignment_state)
          and b.dispatch_count < max_dispatches
          and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
        order by b.next_attempt_at limit p_limit)
      union all
      (select b.id from public.bookings b
        where b.assignment_state = 'created' and b.deferred_since is null
          and b.created_at <= p_now - private.claim_new_after()
          and b.next_attempt_at <= b.created_at + private.nudge_grace()
          and b.dispatch_count < max_dispatches
          and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
        order by b.created_at limit p_limit)),
    due as (
      select b.id from public.bookings b
       where b.id in (select c.id from candidates c)
         and private.is_queued(b.assignment_state)
         -- Handed out max_dispatches times without an attempt beginning: the sweeper escalates it.
         and b.dispatch_count < max_dispatches
         and (b.next_attempt_at <= p_now
              or b.assignment_state = 'created' and b.deferred_since is null
                 and b.created_at <= p_now - private.claim_new_after()
                 and b.next_attempt_at <= b.created_at + private.nudge_grace())
       -- In the order they became claimable.
       order by least(b.next_attempt_at, b.created_at + private.claim_new_after())
       limit p_limit
       for update of b skip locked),
    claimed_rows as (
      -- Handed out, as the sweeper's dispatches are: a stranded queue is told apart from one just claimed.
      update public.bookings b
         set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0),
             last_dispatched_at = p_now, dispatch_count = b.dispatch_count + 1
        from due where b.id = due.id
      returning b.id)
    select pg_catalog.array_agg(id) into claimed from claimed_rows;
    if claimed is not null or pass = 2 then
      exit;
    end if;
    if private.wake_stranded_queues(p_now, p_restaurant_id) = 0 then
      exit;
    end if;
  end loop;
  return coalesce(claimed, '{}'::uuid[]);
end $$;


revoke all on all routines in schema private from public, anon, authenticated;
