-- One booking the claim cannot update no longer stops the claims of every other.
--
-- An audit of the invariants ("no row can stop the pipeline for other rows: the sweeper, the claim loop and
-- the dispatcher process every other row") found that only the sweeper took its rows one at a time. A claim
-- updates its batch in one statement, so a single row whose update fails (a trigger of the platform's own that
-- refuses it, for one) failed every claim that reached it, the oldest due first: the claim loops of every
-- instance found nothing for any restaurant until the sweeper, on its next run, escalated that row. Now a
-- claim whose batch fails locks the bookings the batch would have taken (due ones and new ones nobody claimed,
-- in the same order, skipping locked ones) and updates each in its own subtransaction. One whose update is
-- refused for its data (a trigger's exception, a constraint, a value: SQLSTATE classes P0, 23, 22) goes to
-- manual review with the cause while still locked, as the sweeper's rows do (sweeper_error: claim failed with
-- SQLSTATE …, and a sweeper.row_failed event with step claim, at most once a minute per booking); any other
-- error leaves it for a later claim; the others are handed out by that same claim. The common path is the
-- batch as before, inside a block that costs a subtransaction per pass. Body as in 20261217000000 otherwise.

create or replace function private.assignment_claim_due_unchecked(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now())
returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[] := '{}';
  taken uuid[];
  seen integer;
  woken boolean := false;
  since timestamptz;
  max_dispatches integer := (private.settings_for(null)).max_dispatches;
  one record;
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
  since := least(private.claim_floor(p_now), p_now - interval '1 second');
  -- From the floor; the whole queue when too little was due above it; and once more only when nothing was due
  -- and a queue nobody would wake was woken just now (those it woke are due at p_now, above the floor).
  for pass in 1..3 loop
    -- Claiming pushes next_attempt_at out by the visibility timeout, so a claimed booking whose worker dies
    -- becomes due again instead of being lost, and is no longer a new booking nobody claimed. The conditions
    -- are on the locked rows themselves, so they are checked again once a row is locked.
    begin
      with above_floor as (
        select b.id from public.bookings b
         where b.next_attempt_at <= p_now and b.next_attempt_at >= since
           and private.is_queued(b.assignment_state)
           and b.dispatch_count < max_dispatches
           and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
           and b.id <> all(claimed)
         order by b.next_attempt_at limit p_limit - pg_catalog.cardinality(claimed)),
      candidates as (
        select id from above_floor
        union all
        (select b.id from public.bookings b
          where b.assignment_state = 'created' and b.deferred_since is null
            and b.created_at <= p_now - private.claim_new_after()
            and b.next_attempt_at <= b.created_at + private.nudge_grace()
            and b.dispatch_count < max_dispatches
            and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
            and b.id <> all(claimed)
          order by b.created_at limit p_limit - pg_catalog.cardinality(claimed))),
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
         limit p_limit - pg_catalog.cardinality(claimed)
         for update of b skip locked),
      claimed_rows as (
        -- Handed out, as the sweeper's dispatches are: a stranded queue is told apart from one just claimed.
        update public.bookings b
           set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0),
               last_dispatched_at = p_now, dispatch_count = b.dispatch_count + 1
          from due where b.id = due.id
        returning b.id)
      select coalesce((select pg_catalog.array_agg(id) from claimed_rows), '{}'), (select count(*) from above_floor)
        into taken, seen;
    exception when others then
      -- A row the claim cannot update (a trigger of the platform's that refuses it, say) failed the whole
      -- batch, and would fail every claim that reaches it. The bookings the batch would have taken are locked
      -- here, as the batch locks them, and each is updated on its own; one whose update is refused goes to
      -- manual review with the cause (as the sweeper's rows do), still locked, and the others are handed out
      -- now. Only a refusal of that row's data is taken for its fault: anything else (a race, a resource, the
      -- server) leaves it for a later claim.
      for one in select b.id from public.bookings b
                  where private.is_queued(b.assignment_state)
                    and b.dispatch_count < max_dispatches
                    and (b.next_attempt_at <= p_now
                         or b.assignment_state = 'created' and b.deferred_since is null
                            and b.created_at <= p_now - private.claim_new_after()
                            and b.next_attempt_at <= b.created_at + private.nudge_grace())
                    and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
                    and b.id <> all(claimed)
                  order by least(b.next_attempt_at, b.created_at + private.claim_new_after())
                  limit p_limit - pg_catalog.cardinality(claimed)
                  for update of b skip locked loop
        begin
          update public.bookings b
             set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0),
                 last_dispatched_at = p_now, dispatch_count = b.dispatch_count + 1
           where b.id = one.id;
          claimed := claimed || one.id;
        exception when others then
          -- A trigger's refusal (P0), a constraint (23) or a value (22) belongs to the row; once a minute at
          -- most, so a row that cannot even be escalated does not write an event per claim.
          if pg_catalog.left(sqlstate, 2) in ('P0', '23', '22')
             and not exists (select 1 from public.observability_events e
                              where e.booking_id = one.id and e.event_type = 'sweeper.row_failed'
                                and e.created_at > p_now - interval '1 minute') then
            perform private.sweep_row_failed(one.id, 'claim', sqlstate, p_now);
          end if;
        end;
      end loop;
      exit;
    end;
    claimed := claimed || taken;
    if since > '-infinity' and seen < p_limit and pg_catalog.cardinality(claimed) < p_limit then
      since := '-infinity'; -- too little above the floor: the whole queue
      continue;
    end if;
    exit when pg_catalog.cardinality(claimed) > 0 or woken;
    exit when private.wake_stranded_queues(p_now, p_restaurant_id) = 0;
    woken := true;
  end loop;
  return claimed;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
