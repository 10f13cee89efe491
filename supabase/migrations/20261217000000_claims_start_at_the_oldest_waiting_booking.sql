-- A claim starts reading the queue at the oldest booking still waiting, not at the oldest entry of its index.
--
-- bookings_due_idx is read from its oldest next_attempt_at. Every write of a waiting booking that changes an
-- indexed column (a claim, a deferral, a wake) leaves an entry behind it, and leaving the queue leaves one
-- more. Those entries stay until vacuum removes them (autovacuum comes about once a minute), and new entries
-- only ever go to the other end, so nothing else clears them. Under overload that head grew to about 80,000
-- entries within a minute, and a claim stepped over all of them to find the first waiting booking: 0.7 ms per
-- claim at the start of a 2 x 150/s run, 12.8 ms forty seconds in, most of a core, and goodput sagged from
-- 180/s to 110/s until autovacuum came.
--
-- Now the claims keep a floor: the earliest next_attempt_at of any waiting booking, less a second, worked out
-- at most once a second by one claim (the one that gets the advisory lock; the others use the last one, and
-- none waits). A claim reads from the floor (or from a second before its own time, if that is lower) first,
-- and reads the whole queue as before only when it finds fewer bookings due above the floor than it asked
-- for. So a booking that became due below the floor after it was worked out (a transaction that began over a
-- second before, or a caller that set an old time) is still found: at once when the queue is short, and once
-- the floor is worked out again, about a second later, when it is long. The claim loop calls this as a
-- statement of its own; a caller that claims inside a longer transaction keeps the floor's lock, and the
-- floor stays as it was, until it commits (and under REPEATABLE READ may get a serialization failure where
-- another claim wrote the floor since its snapshot). The sweeper's dispatches do not use the floor.
-- Body as in 20261209040000 otherwise, and a booking this claim took once is not taken again by its second
-- read.

create table private.claim_floor (
  singleton boolean primary key default true check (singleton),
  -- No booking waiting when it was worked out (at about computed_at) had a next_attempt_at before due_floor.
  due_floor timestamptz not null,
  computed_at timestamptz not null
);
insert into private.claim_floor (due_floor, computed_at) values ('-infinity', '-infinity');
alter table private.claim_floor enable row level security;
revoke all on private.claim_floor from public, anon, authenticated, service_role;

create function private.claim_floor(p_now timestamptz)
returns timestamptz language plpgsql security definer set search_path = '' as $$
declare
  f private.claim_floor;
  earliest timestamptz;
begin
  select * into f from private.claim_floor;
  if f.computed_at > pg_catalog.clock_timestamp() - interval '1 second'
     or not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('claim_floor', '00000000-0000-0000-0000-000000000000')) then
    return f.due_floor;
  end if;
  -- The one read of the whole head per second.
  select min(b.next_attempt_at) into earliest
    from public.bookings b
   where b.next_attempt_at is not null and private.is_queued(b.assignment_state);
  f.due_floor := least(earliest, p_now) - interval '1 second';
  update private.claim_floor
     set due_floor = f.due_floor, computed_at = pg_catalog.clock_timestamp();
  return f.due_floor;
end $$;

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
