-- The function's feature flags as Postgres last heard them.
--
-- The deployment's FEATURE_ASSIGNMENT_PIPELINE_V3 / _SHADOW flags may only lower a restaurant's mode, and only
-- the function knew them: Postgres learnt them lease by lease (p_mode_ceiling) and forgot them. A review of the
-- rollout paths found what that cost during a rollback by the flags (the plan's own way back):
--   * the sweeper kept sending reviews to the function for their re-seating search, which it skips under a
--     ceiling; each send counted toward the review's three, so every review of the rollback lost its search
--     for good, and the function got a useless request every 5 s;
--   * the queue and the operator kept seeing re-seating offers V3 had found, and could accept them;
--   * a booking no lease ever reached (escalated by the sweeper) and a breaker reset were named for the
--     database's mode, v3: coordinator.* events during a shadow phase, which the plan's shadow-phase check
--     ("no assignment.coordinator events") then failed on, and V3's manual-review rate counted them.
-- Each lease now leaves the ceiling it was given in private.function_flags (written only when it changes, and
-- never waited for: a lease that finds another writing it leaves it to that one). private.runs_v3 (which
-- gates the re-seating searches, their nudges and the offers shown), the sweeper's and the breaker reset's
-- event names, ops.restaurant_modes and ops.rollout_status read the mode under that ceiling; rollout_status
-- shows the flags as last heard (function_flags). Bodies as in 20261216000000 (the lease and begin wrappers),
-- 20261211000000 (runs_v3), 20261219000000 (reset_circuit_breaker) and 20261201101800 (rollout_status,
-- restaurant_modes), with those changes.

create table private.function_flags (
  singleton boolean primary key default true check (singleton),
  mode_ceiling text check (mode_ceiling in ('legacy', 'shadow')),
  changed_at timestamptz
);
comment on table private.function_flags is
  'The coordinator function''s mode ceiling (from FEATURE_ASSIGNMENT_PIPELINE_V3 / _SHADOW) as its latest lease reported it: null for none (V3 allowed). changed_at: when a lease last reported a different one (null: none has, since install).';
insert into private.function_flags default values;
alter table private.function_flags enable row level security;
revoke all on private.function_flags from public, anon, authenticated, service_role;

create function private.function_ceiling()
returns text language sql stable set search_path = '' as $$
  select f.mode_ceiling from private.function_flags f where f.singleton;
$$;

-- Written only when the flags changed, and never waited for: the row is read, and locked only to change it.
create function private.note_function_ceiling(p_mode_ceiling text)
returns void language sql set search_path = '' as $$
  update private.function_flags f set mode_ceiling = p_mode_ceiling, changed_at = pg_catalog.now()
   where f.singleton = (select g.singleton from private.function_flags g
                         where g.mode_ceiling is distinct from p_mode_ceiling for update skip locked);
$$;

create or replace function private.runs_v3(p_restaurant_id uuid)
returns boolean language sql stable set search_path = '' as $$
  select d.mode = 'v3' from private.decide_mode(p_restaurant_id, private.function_ceiling()) d;
$$;

create or replace function public.assignment_lease(p_booking_id uuid, p_trigger text default 'dispatch',
                                        p_max_parallel integer default null, p_mode_ceiling text default null,
                                        p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  answer jsonb;
begin
  perform private.check_caller_clock(p_now);
  perform private.check_trigger_code(p_trigger);
  answer := private.assignment_lease_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
  perform private.note_function_ceiling(p_mode_ceiling);
  return answer;
end $$;

create or replace function public.assignment_begin(p_booking_id uuid, p_trigger text default 'dispatch',
                                                   p_max_parallel integer default null,
                                                   p_mode_ceiling text default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  answer jsonb;
begin
  perform private.check_caller_clock(p_now);
  perform private.check_trigger_code(p_trigger);
  answer := private.assignment_begin_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
  perform private.note_function_ceiling(p_mode_ceiling);
  return answer;
end $$;
-- Replacing a function clears its settings: the wait 20261224000000 gave them, again.
alter function public.assignment_lease(uuid, text, integer, text, timestamptz) set lock_timeout = '5s';
alter function public.assignment_begin(uuid, text, integer, text, timestamptz) set lock_timeout = '5s';

create or replace function ops.reset_circuit_breaker(p_restaurant_id uuid, p_actor text, p_reason text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  br private.circuit_breakers;
begin
  perform private.act_as(p_actor, p_reason);
  if coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'say why the breaker may close: pass p_reason (what was fixed)';
  end if;
  if p_restaurant_id is null or not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  select * into br from private.circuit_breakers where restaurant_id = p_restaurant_id for update;
  if not found or (br.state = 'closed' and br.consecutive_failures = 0) then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged', 'restaurant_id', p_restaurant_id, 'state', 'closed');
  end if;
  update private.circuit_breakers
     set state = 'closed', consecutive_failures = 0, opened_at = null, probe_booking_id = null, probe_started_at = null,
         updated_at = pg_catalog.now()
   where restaurant_id = p_restaurant_id;
  -- database_role as the settings audit trigger records it: SET ROLE's role if one is set (service_role under
  -- PostgREST), or else the login role (this function is security definer, so current_user is its owner).
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  values (p_actor,
          case when pg_catalog.current_setting('role') = 'none' then session_user::text
               else pg_catalog.current_setting('role') end,
          p_restaurant_id::text, 'circuit_breaker',
          pg_catalog.jsonb_build_object('state', br.state, 'consecutive_failures', br.consecutive_failures,
                                        'opened_at', br.opened_at),
          '{"state": "closed", "consecutive_failures": 0}'::jsonb, p_reason);
  -- No booking moved it, so it is named for the path the restaurant's bookings take now (its mode under the
  -- function's flags as last heard): auto_assign.circuit_reset for legacy and shadow.
  perform private.record_pipeline_event((select m.mode from private.decide_mode(p_restaurant_id, private.function_ceiling()) m),
    'coordinator.circuit_reset', 'warning',
    pg_catalog.jsonb_build_object('trigger', 'ops', 'from', br.state, 'consecutive_failures', br.consecutive_failures),
    p_restaurant_id, null);
  -- The queue the breaker held has nothing in flight ahead of it now: nobody else would wake it.
  perform private.wake_stranded_queues(pg_catalog.now(), p_restaurant_id);
  return pg_catalog.jsonb_build_object('outcome', 'closed', 'restaurant_id', p_restaurant_id, 'from', br.state,
                                       'consecutive_failures', br.consecutive_failures);
end $$;

create or replace function ops.rollout_status()
returns jsonb language sql stable security definer set search_path = '' as $$
  select pg_catalog.to_jsonb(s) - 'singleton' - 'rollout_salt' || pg_catalog.jsonb_build_object(
           'max_parallel', (private.settings_for(null)).max_parallel,
           -- The deployment's feature flags as the latest lease reported them (null: no ceiling, V3 allowed), and
           -- when they last changed.
           'function_flags', (select pg_catalog.jsonb_build_object('mode_ceiling', f.mode_ceiling,
                                                                  'changed_at', f.changed_at)
                                from private.function_flags f),
           'restaurants_by_mode', (select pg_catalog.jsonb_object_agg(mode, n) from (
               select m.mode, count(*) as n
                 from public.restaurants r, private.decide_mode(r.id, private.function_ceiling()) m group by m.mode) x))
    from private.rollout_settings s;
$$;

create or replace function ops.restaurant_modes()
returns table (restaurant_id uuid, restaurant text, mode text, reason text, rollout_bucket integer)
language sql stable security definer set search_path = '' as $$
  select r.id, r.name, m.mode, m.reason, private.rollout_bucket(r.id, s.rollout_salt)
    from public.restaurants r cross join private.rollout_settings s,
         private.decide_mode(r.id, private.function_ceiling()) m
   order by r.name;
$$;

revoke all on all routines in schema private from public, anon, authenticated;
