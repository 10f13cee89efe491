-- Moves planned before the kill switch are not made after it.
--
-- A review of the rollout found that the mode is decided when an attempt begins and never looked at again: an
-- attempt that began on V3 and planned to re-seat other guests made those moves even when, meanwhile, an
-- operator had pulled the kill switch (the plan's "rollback, instantly"), set the restaurant off or out of V3,
-- or turned re-optimisation off; the last even failed the commit (AS005), which the coordinator counted as an
-- error against the restaurant's breaker. Moving other guests' tables is what an operator stops V3 for. Now a
-- commit that moves others first asks whether the restaurant still runs V3 with re-optimisation under the
-- database's settings (the deployment's flags, which cannot change under a running instance, were applied when
-- the attempt began); if not, nothing is written and the answer is a conflict (rule_changed: ...): the attempt
-- ends, not counted against the breaker, and the next one plans the booking as the restaurant runs now. A
-- commit moving nobody still completes in the mode it began in (milliseconds; docs/operating.md).
-- public.assignment_commit: body as in 20261226000000, with that check.

create or replace function public.assignment_commit(p_booking_id uuid, p_lease_token uuid, p_table_ids uuid[], p_strategy text,
                                                    p_duration_ms integer default null, p_metadata jsonb default '{}',
                                                    p_shadow jsonb default null, p_moves jsonb default null,
                                                    p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  restaurant uuid;
begin
  perform private.check_caller_clock(p_now);
  if p_moves is not null and p_moves <> 'null'::jsonb then
    perform private.check_moves(p_moves);
    -- Legacy and shadow never move other guests' tables, whatever a caller proposes. (A stale lease's commit
    -- is told lease_lost, below, whatever it proposes.)
    if pg_catalog.jsonb_array_length(p_moves) > 0
       and (select x.assignment_mode from public.bookings x
             where x.id = p_booking_id and x.lease_token = p_lease_token) <> 'v3' then
      raise exception using errcode = 'AS005', message = 'moves are made only for a booking on V3: legacy and shadow move nobody';
    end if;
    -- Planned while the restaurant ran V3 with re-optimisation on; since then an operator pulled the kill
    -- switch, switched it off or out of V3, or turned re-optimisation off: nobody is moved, and the attempt
    -- ends as a conflict, so the next plans the booking as the restaurant runs now.
    if pg_catalog.jsonb_array_length(p_moves) > 0 then
      select x.restaurant_id into restaurant from public.bookings x
       where x.id = p_booking_id and x.lease_token = p_lease_token;
      if restaurant is not null
         and ((select d.mode from private.decide_mode(restaurant, null) d) <> 'v3'
              or not (private.settings_for(restaurant)).reoptimize) then
        return pg_catalog.jsonb_build_object('outcome', 'conflict',
          'reason', 'rule_changed: its plan moved other bookings, but since it began the restaurant stopped running V3 with re-optimisation (the kill switch, its mode, the rollout or ops.set_reoptimization): planned again as it runs now');
      end if;
    end if;
  end if;
  return private.assignment_commit_unchecked(p_booking_id, p_lease_token, p_table_ids, p_strategy, p_duration_ms,
                                             p_metadata, p_shadow, p_moves, p_now);
end $$;
-- Replacing a function clears its settings: the wait 20261224000000 gave it, again.
alter function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)
  set lock_timeout = '5s';
do $$
begin
  execute pg_catalog.format(
    'comment on function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz) is %L',
    pg_catalog.obj_description(
      'public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)'::regprocedure, 'pg_proc')
    || ' Moves planned while the restaurant ran V3 with re-optimisation, which it no longer does (kill switch, mode, rollout, re-optimisation off), are not made: {outcome: conflict, reason: rule_changed: ...}, nothing written.');
end $$;
