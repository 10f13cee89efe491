
-- Tunables of the assignment pipeline, in Postgres so every function instance sees the same values.
-- One global row, plus optional per-restaurant overrides. Ops change them through RPCs (see the ops migration).

-- The modes a restaurant's bookings can run in (see the rollout modes): the one list every CHECK and ops call
-- validates against.
create function private.pipeline_modes()
returns text[] language sql immutable set search_path = '' as $$
  select array['off', 'legacy', 'shadow', 'v3'];
$$;
grant execute on function private.pipeline_modes() to service_role;

create table private.pipeline_settings (
  singleton boolean primary key default true constraint pipeline_settings_is_a_single_row check (singleton),
  max_parallel integer not null default 3
    constraint max_parallel_is_between_1_and_20 check (max_parallel between 1 and 20),
  max_attempts integer not null default 5 constraint max_attempts_is_between_1_and_20 check (max_attempts between 1 and 20),
  no_fit_retries integer not null default 0
    constraint no_fit_retries_is_between_0_and_10 check (no_fit_retries between 0 and 10),
  lease_seconds integer not null default 30 constraint lease_is_between_5_and_300_seconds check (lease_seconds between 5 and 300),
  retry_base_ms integer not null default 1000 constraint retry_base_is_positive check (retry_base_ms > 0),
  retry_max_ms integer not null default 30000 constraint retry_max_is_at_least_the_base check (retry_max_ms >= retry_base_ms),
  rate_limited_delay_ms integer not null default 200
    constraint rate_limited_delay_is_positive check (rate_limited_delay_ms > 0),
  breaker_failure_threshold integer not null default 5
    constraint breaker_threshold_is_between_1_and_100 check (breaker_failure_threshold between 1 and 100),
  breaker_cooldown_ms integer not null default 15000
    constraint breaker_cooldown_is_between_1_second_and_1_hour check (breaker_cooldown_ms between 1000 and 3600000),
  max_tables_per_booking integer not null default 3
    constraint max_tables_is_between_1_and_6 check (max_tables_per_booking between 1 and 6),
  dispatch_timeout_ms integer not null default 5000
    constraint dispatch_timeout_is_between_1_and_60_seconds check (dispatch_timeout_ms between 1000 and 60000),
  max_dispatches integer not null default 12
    constraint max_dispatches_is_between_1_and_100 check (max_dispatches between 1 and 100),
  sweeper_batch_size integer not null default 100
    constraint sweeper_batch_is_between_1_and_1000 check (sweeper_batch_size between 1 and 1000),
  -- Let the engine move confirmed bookings that are not yet seated to other tables when that lets a new
  -- booking in. Off until ops turns it on (globally or per restaurant).
  reoptimize boolean not null default false,
  -- Deferral (circuit open, rate limited) is bounded: a booking that has waited longer than this in one
  -- stretch goes to manual review with a reason, so it cannot wait forever.
  max_deferral_seconds integer not null default 600
    constraint max_deferral_is_between_1_minute_and_1_day check (max_deferral_seconds between 60 and 86400),
  updated_at timestamptz not null default now()
);
insert into private.pipeline_settings default values;
comment on table private.pipeline_settings is 'Global pipeline tunables (one row).';

create table private.restaurant_pipeline_settings (
  restaurant_id uuid primary key references public.restaurants (id) on delete cascade,
  max_parallel integer constraint restaurant_max_parallel_is_between_1_and_20 check (max_parallel between 1 and 20),
  max_tables_per_booking integer
    constraint restaurant_max_tables_is_between_1_and_6 check (max_tables_per_booking between 1 and 6),
  reoptimize boolean,
  mode text constraint restaurant_mode_is_off_legacy_shadow_or_v3 check (mode = any(private.pipeline_modes())),
  updated_at timestamptz not null default now()
);
comment on table private.restaurant_pipeline_settings is 'Per-restaurant overrides of the global tunables; null means "use the global value".';
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
    constraint default_mode_is_off_legacy_shadow_or_v3 check (default_mode = any(private.pipeline_modes())),
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

-- The tunables in force for one restaurant (null: the global ones): the one way every function reads a
-- setting. A typed row, the global row with the restaurant's overrides applied. `p_instance_max_parallel`
-- is the calling function's FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL: it can lower the database's limit,
-- never raise it.
create function private.settings_for(p_restaurant_id uuid, p_instance_max_parallel integer default null)
returns private.pipeline_settings language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_populate_record(g, pg_catalog.jsonb_build_object(
      'max_parallel', least(coalesce(r.max_parallel, g.max_parallel),
                            greatest(1, least(20, coalesce(p_instance_max_parallel, 20)))),
      'max_tables_per_booking', coalesce(r.max_tables_per_booking, g.max_tables_per_booking),
      'reoptimize', coalesce(r.reoptimize, g.reoptimize)))
    from private.pipeline_settings g
    left join private.restaurant_pipeline_settings r on r.restaurant_id = p_restaurant_id;
$$;

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

alter table private.pipeline_settings enable row level security;
alter table private.restaurant_pipeline_settings enable row level security;

alter table private.rollout_settings enable row level security;
alter table public.pipeline_settings_audit enable row level security;
revoke all on private.pipeline_settings, private.restaurant_pipeline_settings from public, anon, authenticated;
revoke all on private.rollout_settings from public, anon, authenticated;
revoke all on public.pipeline_settings_audit from public, anon, authenticated, service_role;
grant select on public.pipeline_settings_audit to service_role;
revoke all on sequence public.pipeline_settings_audit_id_seq from public, anon, authenticated;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
