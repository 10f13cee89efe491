-- A queue nobody will wake is woken by the next claim loop that finds nothing due, or by the sweeper.
--
-- A new booking joins its restaurant's queue at insert when every slot is spoken for, and the booking that
-- frees a slot wakes the queue (20261204020000). Both decide in their own transaction, so they can miss each
-- other: a booking inserted while the last booking in flight is leaving counts that booking's slot as taken,
-- and the leaving booking's wake does not yet see the new one. With nothing else in flight nobody wakes it,
-- and it waited for the fallback (rate_limited_delay_ms, 10 s) and the sweep after it: 10-15 s for a party
-- the restaurant could seat at once. Making either side wait for the other would make a coordinator's commit
-- wait for a platform's open transaction, so the miss is repaired afterwards instead:
--   * private.wake_stranded_queues wakes the queue of every restaurant that has bookings waiting and nothing
--     in flight, woken, or handed out and not yet begun: as many as its slots, longest-waiting first. Where
--     anything is in flight, its leaving wakes the queue (the miss above needs the last one in flight to
--     leave), so nothing is done; nor where the restaurant's circuit breaker is not closed (its queue is held
--     on purpose). One waker per queue at a time (an advisory lock, tried and skipped when taken);
--   * a claim loop that finds nothing due calls it and claims again: the coordinator whose booking left keeps
--     claiming for 1.5 s, so a missed wake costs a poll (100 ms). A claim now records when it handed the
--     booking out (last_dispatched_at, as the sweeper's dispatches do), so a booking between its claim and
--     its begin is not taken for a stranded one and claimed a second time;
--   * the sweeper calls it before it dispatches the due bookings: the backstop, within 5 s, for leaves no claim
--     loop follows (a cancellation, an operator, an expired lease). sweeper.run counts them as "woken".

-- Whether someone will take one of the restaurant's slots and so wake its queue when leaving it, or the queue
-- is held on purpose: a slot spoken for (private.slots_taken: in flight, dispatched or woken), one of the
-- queue handed out lately (claimed, or dispatched by a sweep) and not begun since (a begin touches the
-- booking, so one begun and sent back to the queue does not count), or a circuit breaker that is not closed
-- (its bookings are due when its cooldown ends).
create function private.queue_is_served(p_restaurant_id uuid, p_now timestamptz)
returns boolean language sql stable set search_path = '' as $$
  select private.slots_taken(p_restaurant_id, p_now) > 0
      or exists (select 1 from public.bookings x
                  where x.restaurant_id = p_restaurant_id and x.deferred_since is not null
                    and x.last_dispatched_at > p_now - private.nudge_grace()
                    and x.updated_at <= x.last_dispatched_at)
      or exists (select 1 from private.circuit_breakers c where c.restaurant_id = p_restaurant_id and c.state <> 'closed')
$$;

create function private.wake_stranded_queues(p_now timestamptz, p_restaurant_id uuid default null)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  r record;
  n integer;
  woken integer := 0;
begin
  -- The restaurants with a queue, one index probe each however long their queues (deferred_since is set only
  -- while a booking waits in a queued state: leaving them clears it), that look stranded: one query, as
  -- most queues have a booking in flight ahead of them (a claim loop that finds nothing due asks every time).
  for r in with recursive queues as (
             (select w.restaurant_id from public.bookings w
               where w.deferred_since is not null and p_restaurant_id is null
               order by w.restaurant_id limit 1)
             union all
             (select w.restaurant_id from public.bookings w
               where w.deferred_since is not null and w.restaurant_id = p_restaurant_id
               limit 1)
             union all
             select (select w.restaurant_id from public.bookings w
                      where w.deferred_since is not null and w.restaurant_id > q.restaurant_id
                      order by w.restaurant_id limit 1)
               from queues q where q.restaurant_id is not null and p_restaurant_id is null)
           select q.restaurant_id from queues q
            where q.restaurant_id is not null and not private.queue_is_served(q.restaurant_id, p_now)
  loop
    -- One waker per queue at a time, and the next one looks after it has committed (the statements below
    -- read afresh): two claim loops must not both take the queue for stranded and wake it twice over.
    continue when not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('restaurant_queue', r.restaurant_id));
    continue when private.queue_is_served(r.restaurant_id, p_now);
    update public.bookings set next_attempt_at = p_now
     where id in (select w.id from public.bookings w
                   where w.restaurant_id = r.restaurant_id and w.deferred_since is not null
                     and private.is_queued(w.assignment_state) and w.next_attempt_at > p_now
                   order by w.created_at, w.id
                   limit (private.settings_for(r.restaurant_id)).max_parallel
                   for update skip locked);
    get diagnostics n = row_count;
    woken := woken + n;
  end loop;
  return woken;
end $$;
comment on function private.wake_stranded_queues(timestamptz, uuid) is
  'Wake the queue of every restaurant (or of one) whose bookings wait for a slot while nothing is in flight and none of them is woken: a wake missed by a booking that joined the queue while the last one in flight was leaving. Returns how many were woken. Called by a claim loop that finds nothing due and by the sweeper.';

-- The hand-outs of a queue, looked up by every wake of a queue with nothing in flight.
create index bookings_queue_handed_out_idx on public.bookings (restaurant_id, last_dispatched_at)
  where deferred_since is not null;

create or replace function private.sweep(p_now timestamptz default pg_catalog.clock_timestamp())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.pipeline_settings;
  r record;
  expired integer := 0;
  dispatched integer := 0;
  not_dispatched integer := 0;
  escalated integer := 0;
  failed integer := 0;
  woken integer := 0;
  backoff_ms integer;
  reason text;
  configured boolean := private.dispatch_configured();
begin
  s := private.settings_for(null);

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    begin
      perform private.expire_lease(r.id, p_now);
      expired := expired + 1;
    exception when others then
      perform private.sweep_row_failed(r.id, 'expire_lease', sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;

  -- Before the due bookings are looked for, so the queues woken now are dispatched by this very sweep.
  woken := private.wake_stranded_queues(p_now);

  for r in select b.id, b.restaurant_id, b.dispatch_count, b.assignment_state_version, b.created_at, b.assignment_mode,
                  b.attempt_count
             from public.bookings b
            where private.is_queued(b.assignment_state) and b.next_attempt_at <= p_now
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    begin
      if r.dispatch_count >= s.max_dispatches then
        reason := case when configured then
            pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without the coordinator picking it up',
                              r.dispatch_count, pg_catalog.to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
          else
            pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                              r.dispatch_count) end;
        perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
          '{}'::jsonb, 'sweeper');
        -- Named for the booking's last mode, or the one it would have run in (the flags' ceiling is unknown here).
        perform private.record_escalation(coalesce(r.assignment_mode, (select m.mode from private.effective_mode(r.restaurant_id) m)),
          reason, r.attempt_count, null,
          pg_catalog.jsonb_build_object('dispatches', r.dispatch_count, 'dispatch_configured', configured),
          r.restaurant_id, r.id, 'error');
        escalated := escalated + 1;
      else
        -- The attempt counts even when nothing could be sent, so a booking still escalates in bounded time.
        -- 5 s, 10 s, 20 s … capped at a minute, plus up to 2 s of jitter.
        backoff_ms := private.backoff_ms(r.dispatch_count + 1, 5000, 60000, 2000);
        update public.bookings
           set dispatch_count = dispatch_count + 1, last_dispatched_at = p_now,
               next_attempt_at = p_now + pg_catalog.make_interval(secs => backoff_ms / 1000.0)
         where id = r.id;
        if private.dispatch_booking(r.id, 'sweeper') is not null then
          dispatched := dispatched + 1;
        else
          not_dispatched := not_dispatched + 1;
        end if;
      end if;
    exception when others then
      perform private.sweep_row_failed(r.id, case when r.dispatch_count >= s.max_dispatches then 'escalate' else 'dispatch' end,
                                       sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;
  if not_dispatched > 0 and not configured then
    perform private.record_event('assignment.sweeper', 'dispatch.not_configured', 'error',
      pg_catalog.jsonb_build_object('not_dispatched', not_dispatched,
        'fix', 'store assignment_functions_url and assignment_pipeline_secret in Vault'), null, null, p_now);
  end if;

  if exists (select 1 from public.notification_outbox o
              where (o.status = 'pending' and o.next_attempt_at <= p_now)
                 or (o.status = 'sending' and o.lease_expires_at <= p_now)) then
    perform private.post_to_function('notification-dispatcher', '{"trigger": "sweeper"}'::jsonb);
  end if;

  if expired + woken + dispatched + not_dispatched + escalated + failed > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched + failed > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                    'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed);
end $$;

create or replace function public.assignment_claim_due(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now()
) returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[];
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
      -- Handed out, as the sweeper's dispatches are: a stranded queue is told apart from one just claimed.
      update public.bookings b
         set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0),
             last_dispatched_at = p_now
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
comment on column public.bookings.last_dispatched_at is
  'When the pipeline last handed the booking to a coordinator: dispatched by the sweeper, or claimed by a claim loop.';
