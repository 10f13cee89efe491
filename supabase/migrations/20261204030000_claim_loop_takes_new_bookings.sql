-- A running coordinator's claim loop also takes new bookings whose dispatch has not arrived within a moment.
-- Hosted pg_net's worker waits up to a second between batches while busy, so at a steady 20 bookings a second
-- every booking waited 0–1 s for its own request although coordinators were running and idle. A new booking
-- is due only when its dispatch is presumed lost (the nudge grace, 10 s), so the loop never saw it. Now a
-- booking still waiting in `created` 250 ms after its insert, never claimed, is claimable; its request, when
-- it comes, finds it begun or done (busy or noop). Locally requests arrive within milliseconds, so nothing
-- changes there.

create function private.claim_new_after()
returns interval language plpgsql immutable set search_path = '' as $$
begin
  return interval '250 milliseconds';
end $$;

-- New bookings not yet begun, by age: the claim loop's second source.
create index bookings_new_idx on public.bookings (created_at)
  where assignment_state = 'created' and deferred_since is null;

create or replace function public.assignment_claim_due(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now()
) returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[];
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 1000';
  end if;
  if p_visibility_ms is null or p_visibility_ms not between 100 and 600000 then
    raise exception using errcode = 'AS005', message = 'visibility_ms must be between 100 and 600000';
  end if;
  -- Claiming pushes next_attempt_at out by the visibility timeout, so a claimed booking whose worker dies
  -- becomes due again instead of being lost, and is no longer a new booking nobody claimed. The conditions
  -- are on the locked rows themselves, so they are checked again once a row is locked.
  with candidates as (
    (select b.id from public.bookings b
      where b.next_attempt_at <= p_now and private.is_queued(b.assignment_state)
        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
      order by b.next_attempt_at limit p_limit)
    union all
    (select b.id from public.bookings b
      where b.assignment_state = 'created' and b.deferred_since is null
        and b.created_at <= p_now - private.claim_new_after()
        and b.next_attempt_at <= b.created_at + private.nudge_grace()
        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
      order by b.created_at limit p_limit)),
  due as (
    select b.id from public.bookings b
     where b.id in (select c.id from candidates c)
       and private.is_queued(b.assignment_state)
       and (b.next_attempt_at <= p_now
            or b.assignment_state = 'created' and b.deferred_since is null
               and b.created_at <= p_now - private.claim_new_after()
               and b.next_attempt_at <= b.created_at + private.nudge_grace())
     -- In the order they became claimable.
     order by least(b.next_attempt_at, b.created_at + private.claim_new_after())
     limit p_limit
     for update of b skip locked),
  claimed_rows as (
    update public.bookings b
       set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0)
      from due where b.id = due.id
    returning b.id)
  select pg_catalog.array_agg(id) into claimed from claimed_rows;
  return coalesce(claimed, '{}'::uuid[]);
end $$;
comment on function public.assignment_claim_due(integer, uuid, integer, timestamptz) is
  'Claim up to p_limit bookings whose next attempt is due, or that are new and not begun 250 ms after their insert (their dispatch is late), optionally of one restaurant, hiding them from other claimers for p_visibility_ms. Used by a running coordinator to keep draining work, and by the sweeper.';

revoke all on all routines in schema private from public, anon, authenticated;
