-- Tunables of the assignment pipeline, in Postgres so every function instance sees the same values.
-- One global row, plus optional per-restaurant overrides. Ops change them through RPCs (see the ops migration).

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
  updated_at timestamptz not null default now()
);
comment on table private.restaurant_pipeline_settings is 'Per-restaurant overrides of the global tunables; null means "use the global value".';

-- The tunables in force for one restaurant. `p_instance_max_parallel` is the calling function's
-- FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL: it can lower the database's limit, never raise it.
create function private.settings_for(p_restaurant_id uuid, p_instance_max_parallel integer default null)
returns jsonb language sql stable set search_path = '' as $$
  select pg_catalog.to_jsonb(g) - 'singleton' - 'updated_at' || pg_catalog.jsonb_build_object(
      'max_parallel', least(coalesce(r.max_parallel, g.max_parallel),
                            greatest(1, least(20, coalesce(p_instance_max_parallel, 20)))),
      'database_max_parallel', coalesce(r.max_parallel, g.max_parallel),
      'max_tables_per_booking', coalesce(r.max_tables_per_booking, g.max_tables_per_booking),
      'reoptimize', coalesce(r.reoptimize, g.reoptimize))
    from private.pipeline_settings g
    left join private.restaurant_pipeline_settings r on r.restaurant_id = p_restaurant_id;
$$;

-- Advisory-lock keys. Transaction-scoped locks only: the edge function reaches Postgres through a
-- transaction-mode pooler, where session locks would leak between clients.
create function private.lock_key(p_scope text, p_id uuid)
returns bigint language sql immutable set search_path = '' as $$
  select pg_catalog.hashtextextended(p_scope || ':' || p_id::text, 0);
$$;

-- Take a restaurant's lock, the first lock of the order every writer follows (restaurant, then booking, then
-- rows), and say how long it took in ms. Transaction-scoped, so it is safe behind a transaction pooler.
create function private.lock_restaurant(p_restaurant_id uuid)
returns numeric language plpgsql set search_path = '' as $$
declare
  started timestamptz := pg_catalog.clock_timestamp();
begin
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('restaurant', p_restaurant_id));
  return round(extract(epoch from pg_catalog.clock_timestamp() - started) * 1000, 3);
end $$;

alter table private.pipeline_settings enable row level security;
alter table private.restaurant_pipeline_settings enable row level security;
revoke all on private.pipeline_settings, private.restaurant_pipeline_settings from public, anon, authenticated;
revoke all on function private.settings_for(uuid, integer), private.lock_key(text, uuid), private.lock_restaurant(uuid)
  from public, anon, authenticated;
