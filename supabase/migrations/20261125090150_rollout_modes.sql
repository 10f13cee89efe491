-- Rollout controls, decided in Postgres so a change takes effect for the very next booking without a
-- redeploy. Each restaurant's effective mode is one of:
--   off     no automatic assignment: bookings go straight to the manual-review queue
--   legacy  the baseline: first-fit planner with a fixed retry loop, auto_assign.* events
--   shadow  legacy assigns and confirms; the V3 engine plans on the same snapshot, writes nothing, and the
--           comparison is stored in shadow_comparisons
--   v3      the V3 engine assigns
-- Decision, first match wins: restaurant override "off" → kill switch (legacy) → restaurant override →
-- rollout percentage (v3 when the restaurant's stable bucket < percentage) → the default mode.
-- The edge function's FEATURE_ASSIGNMENT_PIPELINE_V3 / _SHADOW flags can only lower the result (see begin).

create table private.rollout_settings (
  singleton boolean primary key default true constraint rollout_settings_is_a_single_row check (singleton),
  default_mode text not null default 'v3'
    constraint default_mode_is_off_legacy_shadow_or_v3 check (default_mode in ('off', 'legacy', 'shadow', 'v3')),
  rollout_percentage integer not null default 100
    constraint rollout_percentage_is_between_0_and_100 check (rollout_percentage between 0 and 100),
  rollout_salt text not null default 'assignment-pipeline-v3',
  kill_switch boolean not null default false,
  kill_switch_reason text,
  -- What shadow mode runs as the candidate: the V3 engine, or the legacy engine again (A/A) to measure
  -- the noise floor of the comparison. Both plan on the primary's own snapshot, so A/A shows planner
  -- nondeterminism (any mismatch) and timing noise, the only noise a v3 comparison can contain.
  shadow_candidate text not null default 'v3'
    constraint shadow_candidate_is_v3_or_aa check (shadow_candidate in ('v3', 'aa')),
  -- Retention, pruned nightly (private.prune_old_rows): events are telemetry; shadow comparisons are
  -- evidence for rollout decisions; the settings audit is the rollout log, kept longest.
  event_retention_days integer not null default 30
    constraint event_retention_is_between_1_and_3650_days check (event_retention_days between 1 and 3650),
  shadow_retention_days integer not null default 90
    constraint shadow_retention_is_between_1_and_3650_days check (shadow_retention_days between 1 and 3650),
  audit_retention_days integer not null default 365
    constraint audit_retention_is_between_1_and_3650_days check (audit_retention_days between 1 and 3650),
  updated_at timestamptz not null default now(),
  constraint kill_switch_has_a_reason check (not kill_switch or kill_switch_reason is not null)
);
insert into private.rollout_settings default values;
comment on table private.rollout_settings is 'Global rollout controls (one row). Change them through the ops.* functions.';

alter table private.restaurant_pipeline_settings
  add column mode text constraint restaurant_mode_is_off_legacy_shadow_or_v3 check (mode in ('off', 'legacy', 'shadow', 'v3'));

alter table public.bookings
  add column assignment_mode text
    constraint booking_assignment_mode_is_known check (assignment_mode in ('off', 'legacy', 'shadow', 'v3'));
comment on column public.bookings.assignment_mode is 'The mode the current or last attempt ran in.';

-- A restaurant's place in the rollout: a stable number 0–99 from a salted hash of its id. A restaurant is
-- in when bucket < percentage, so raising the percentage never drops one that was already in.
create function private.rollout_bucket(p_restaurant_id uuid, p_salt text)
returns integer language sql immutable set search_path = '' as $$
  select (('x' || pg_catalog.substr(pg_catalog.md5(p_salt || ':' || p_restaurant_id::text), 1, 8))::bit(32)::bigint % 100)::integer;
$$;

create function private.effective_mode(p_restaurant_id uuid)
returns table (mode text, reason text) language sql stable set search_path = '' as $$
  select case
           when o.mode = 'off' then 'off'
           when s.kill_switch then 'legacy'
           when o.mode is not null then o.mode
           when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then 'v3'
           else s.default_mode
         end,
         case
           when o.mode = 'off' then 'restaurant override'
           when s.kill_switch then 'kill switch: ' || s.kill_switch_reason
           when o.mode is not null then 'restaurant override'
           when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then
             pg_catalog.format('rollout: bucket %s < %s%%', private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
           else pg_catalog.format('default mode (bucket %s is outside the %s%% rollout)',
                                  private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
         end
    from private.rollout_settings s
    left join private.restaurant_pipeline_settings o on o.restaurant_id = p_restaurant_id;
$$;

-- The mode an attempt runs in: the restaurant's effective mode, lowered (never raised) by the calling
-- function's feature flags (p_mode_ceiling: null, 'shadow' or 'legacy'; see assignment_begin).
create function private.decide_mode(p_restaurant_id uuid, p_mode_ceiling text)
returns table (mode text, reason text) language sql stable set search_path = '' as $$
  select case when capped then p_mode_ceiling else m.mode end,
         case when capped then 'capped by the function''s feature flags (' || m.reason || ')' else m.reason end
    from private.effective_mode(p_restaurant_id) m,
         lateral (select p_mode_ceiling = 'legacy' and m.mode in ('shadow', 'v3')
                         or p_mode_ceiling = 'shadow' and m.mode = 'v3' as capped) c;
$$;

-- Events of an attempt are named for the path that runs it. V3 (and off) write the rollout plan's
-- coordinator.* events under source assignment.coordinator. Legacy, and shadow (where legacy is the path
-- that assigns), write the first implementation's auto_assign.* events under source auto_assign, so the
-- plan's shadow-phase checks hold ("only auto_assign.* events", "no assignment.coordinator.* events") and
-- its coordinator dashboards count V3 alone. Callers always name the V3 event; this maps it:
--   coordinator.start → auto_assign.attempt.start    coordinator.retry → auto_assign.retry_scheduled
--   coordinator.error → auto_assign.attempt_error    coordinator.manual_review → auto_assign.failed
--   coordinator.confirmed → auto_assign.succeeded    any other coordinator.<x> → auto_assign.<x>
-- State transitions keep source assignment.state_machine in every mode: the state machine is shared.
create function private.pipeline_event_name(p_mode text, p_event_type text)
returns table (source text, event_type text) language sql immutable set search_path = '' as $$
  select case when legacy then 'auto_assign' else 'assignment.coordinator' end,
         case when not legacy then p_event_type
              when p_event_type = 'coordinator.start' then 'auto_assign.attempt.start'
              when p_event_type = 'coordinator.retry' then 'auto_assign.retry_scheduled'
              when p_event_type = 'coordinator.error' then 'auto_assign.attempt_error'
              when p_event_type = 'coordinator.manual_review' then 'auto_assign.failed'
              when p_event_type = 'coordinator.confirmed' then 'auto_assign.succeeded'
              else 'auto_assign.' || pg_catalog.regexp_replace(p_event_type, '^coordinator\.', '')
         end
    from (select coalesce(p_mode in ('legacy', 'shadow'), false) as legacy) l;
$$;

-- The mode of a booking's current or last attempt (null before its first).
create function private.booking_mode(p_booking_id uuid)
returns text language sql stable set search_path = '' as $$
  select b.assignment_mode from public.bookings b where b.id = p_booking_id;
$$;

create function private.record_pipeline_event(p_mode text, p_event_type text, p_severity text, p_context jsonb,
                                              p_restaurant_id uuid, p_booking_id uuid)
returns void language sql set search_path = '' as $$
  select private.record_event(n.source, n.event_type, p_severity,
           case when p_mode is null then coalesce(p_context, '{}'::jsonb)
                else pg_catalog.jsonb_build_object('mode', p_mode) || coalesce(p_context, '{}'::jsonb) end,
           p_restaurant_id, p_booking_id)
    from private.pipeline_event_name(p_mode, p_event_type) n;
$$;

-- A booking escalated to manual review, told in its path's terms: coordinator.manual_review for V3; for
-- legacy and shadow the first implementation's auto_assign.failed plus the auto_assign.summary every
-- legacy run ends with (result "exhausted"), so the plan's "compare success rates" query sees one
-- summary per legacy booking. p_severity: 'error' where the escalation means something is broken (the
-- coordinator unreachable, a booking deferred past its bound), else 'warning'.
create function private.record_escalation(p_mode text, p_reason text, p_attempts integer, p_duration_ms integer,
                                          p_context jsonb, p_restaurant_id uuid, p_booking_id uuid,
                                          p_severity text default 'warning')
returns void language plpgsql set search_path = '' as $$
declare
  code text := pg_catalog.split_part(p_reason, ':', 1);
begin
  if coalesce(p_mode in ('legacy', 'shadow'), false) then
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      pg_catalog.jsonb_build_object('reason', code, 'attempts', p_attempts,
                                    'hardStopReason', case when code <> 'attempts_exhausted' then code end)
        || coalesce(p_context, '{}'::jsonb),
      p_restaurant_id, p_booking_id);
    perform private.record_pipeline_event(p_mode, 'coordinator.summary', p_severity,
      pg_catalog.jsonb_build_object('result', 'exhausted', 'attemptsUsed', p_attempts, 'maxAttempts', 4,
                                    'totalDurationMs', p_duration_ms,
                                    'hardStopReason', case when code <> 'attempts_exhausted' then code end),
      p_restaurant_id, p_booking_id);
  else
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      pg_catalog.jsonb_build_object('reason', code, 'detail', p_reason, 'attempts', p_attempts,
                                    'duration_ms', p_duration_ms) || coalesce(p_context, '{}'::jsonb),
      p_restaurant_id, p_booking_id);
  end if;
end $$;

-- Every settings change, whoever makes it and however: one row per changed field.
--   actor          the ops.* caller's p_actor, or else the session's login role (session_user)
--   database_role  the role the change was made as: SET ROLE's role if one is set (service_role under
--                  PostgREST), or else the login role
create table public.pipeline_settings_audit (
  id bigint generated always as identity primary key,
  changed_at timestamptz not null default now(),
  actor text not null,
  database_role text not null,
  scope text not null,
  setting text not null,
  old_value jsonb,
  new_value jsonb,
  reason text
);
comment on table public.pipeline_settings_audit is
  'Who changed which pipeline setting when, old → new. Filled by triggers, so direct SQL is recorded too; the rollout log writes itself.';
create index pipeline_settings_audit_changed_at_idx on public.pipeline_settings_audit (changed_at desc);

create function private.audit_settings_change()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  old_doc jsonb := case when tg_op = 'INSERT' then '{}'::jsonb else pg_catalog.to_jsonb(old) end;
  new_doc jsonb := case when tg_op = 'DELETE' then '{}'::jsonb else pg_catalog.to_jsonb(new) end;
  scope text := coalesce(new_doc ->> 'restaurant_id', old_doc ->> 'restaurant_id', 'global');
  -- ops.* functions stamp "<statement start>|<actor>"; anything else is attributed to the login role.
  -- (This function is security definer, so current_user would name its owner, not the caller; the
  -- session's login role and its SET ROLE setting are the caller's.)
  stamp text := coalesce(pg_catalog.current_setting('pipeline.actor', true), '');
  by_ops boolean := pg_catalog.split_part(stamp, '|', 1) = pg_catalog.statement_timestamp()::text;
  set_role text := pg_catalog.current_setting('role');
begin
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  select case when by_ops then pg_catalog.substr(stamp, pg_catalog.strpos(stamp, '|') + 1) else session_user::text end,
         case when set_role = 'none' then session_user::text else set_role end,
         scope, k, old_doc -> k, new_doc -> k,
         case when by_ops then nullif(pg_catalog.current_setting('pipeline.reason', true), '') end
    from (select jsonb_object_keys as k from pg_catalog.jsonb_object_keys(old_doc || new_doc)) keys
   where k not in ('singleton', 'updated_at', 'restaurant_id')
     and (old_doc -> k) is distinct from (new_doc -> k);
  return null;
end $$;
create trigger audit_settings_change after insert or update or delete on private.pipeline_settings
  for each row execute function private.audit_settings_change();
create trigger audit_settings_change after insert or update or delete on private.rollout_settings
  for each row execute function private.audit_settings_change();
create trigger audit_settings_change after insert or update or delete on private.restaurant_pipeline_settings
  for each row execute function private.audit_settings_change();

-- Shadow mode's evidence: what legacy did and what the candidate would have done, on the same snapshot.
create table public.shadow_comparisons (
  id bigint generated always as identity primary key,
  booking_id uuid not null references public.bookings (id) on delete cascade,
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  experiment text not null constraint shadow_experiment_is_v3_or_aa check (experiment in ('v3', 'aa')),
  primary_strategy text not null,
  candidate_strategy text not null,
  primary_decision text not null constraint shadow_primary_decision_is_known check (primary_decision in ('assign', 'escalate')),
  candidate_decision text not null
    constraint shadow_candidate_decision_is_known check (candidate_decision in ('assign', 'escalate', 'error')),
  primary_tables uuid[] not null default '{}',
  candidate_tables uuid[] not null default '{}',
  match text not null generated always as (
    case when candidate_decision = 'error' or primary_decision <> candidate_decision then 'different_decision'
         when primary_tables::text[] <@ candidate_tables::text[] and candidate_tables::text[] <@ primary_tables::text[] then 'same_tables'
         else 'same_decision_different_tables' end) stored,
  score_diff numeric,
  primary_ms numeric not null constraint shadow_primary_duration_is_not_negative check (primary_ms >= 0),
  candidate_ms numeric not null constraint shadow_candidate_duration_is_not_negative check (candidate_ms >= 0),
  candidate_error text,
  created_at timestamptz not null default now()
);
comment on table public.shadow_comparisons is
  'One row per shadow-mode attempt. match: same_tables | same_decision_different_tables | different_decision. score_diff = candidate''s wasted seats − primary''s (negative: the candidate seats tighter).';
comment on column public.shadow_comparisons.experiment is
  'v3: legacy vs the V3 engine; aa: legacy vs itself on the same snapshot, the noise floor (planner nondeterminism and timing spread).';
create index shadow_comparisons_created_idx on public.shadow_comparisons (created_at, restaurant_id);

create function private.record_shadow(b public.bookings, p_shadow jsonb)
returns void language sql set search_path = '' as $$
  insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
    primary_decision, candidate_decision, primary_tables, candidate_tables, score_diff, primary_ms, candidate_ms,
    candidate_error)
  select b.id, b.restaurant_id, p_shadow ->> 'experiment', p_shadow ->> 'primary_strategy',
         p_shadow ->> 'candidate_strategy', p_shadow ->> 'primary_decision', p_shadow ->> 'candidate_decision',
         coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'primary_tables') x), '{}'),
         coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'candidate_tables') x), '{}'),
         (p_shadow ->> 'score_diff')::numeric, (p_shadow ->> 'primary_ms')::numeric, (p_shadow ->> 'candidate_ms')::numeric,
         private.scrub_personal_data(pg_catalog.left(p_shadow ->> 'candidate_error', 500))
   where p_shadow is not null and b.assignment_mode = 'shadow';
$$;

alter table private.rollout_settings enable row level security;
alter table public.pipeline_settings_audit enable row level security;
alter table public.shadow_comparisons enable row level security;
revoke all on private.rollout_settings from public, anon, authenticated;
revoke all on public.pipeline_settings_audit, public.shadow_comparisons from public, anon, authenticated, service_role;
grant select on public.pipeline_settings_audit, public.shadow_comparisons to service_role;
revoke all on function private.rollout_bucket(uuid, text), private.effective_mode(uuid),
  private.decide_mode(uuid, text), private.pipeline_event_name(text, text), private.booking_mode(uuid),
  private.record_pipeline_event(text, text, text, jsonb, uuid, uuid),
  private.record_escalation(text, text, integer, integer, jsonb, uuid, uuid, text),
  private.audit_settings_change(), private.record_shadow(public.bookings, jsonb) from public, anon, authenticated;
