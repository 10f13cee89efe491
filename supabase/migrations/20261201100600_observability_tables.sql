
-- Observability events (shaped so the rollout plan's SQL runs unchanged), the assignment-state
-- history and the per-attempt log. Rows are written in the same transaction as the change they describe.

-- Personal data never reaches these tables: see private.jsonb_has_personal_data and
-- private.text_has_personal_data (extensions and private schema migration).

create table public.observability_events (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  source text not null constraint event_source_is_not_blank check (btrim(source) <> ''),
  event_type text not null constraint event_type_is_not_blank check (btrim(event_type) <> ''),
  severity text not null default 'info'
    constraint event_severity_is_a_known_level check (severity in ('debug', 'info', 'notice', 'warning', 'error', 'critical')),
  context jsonb not null default '{}'::jsonb
    constraint event_context_is_an_object check (jsonb_typeof(context) = 'object'),
  restaurant_id uuid references public.restaurants (id) on delete set null,
  booking_id uuid references public.bookings (id) on delete set null,
  constraint event_context_has_no_personal_data check (not private.jsonb_has_personal_data(context))
);
comment on table public.observability_events is
  'Append-only pipeline telemetry. Names follow the rollout plan (source assignment.coordinator / assignment.state_machine / auto_assign). Never contains personal data.';
create index observability_events_created_at_idx on public.observability_events (created_at desc);
create index observability_events_source_type_idx on public.observability_events (source, event_type, created_at desc);
create index observability_events_booking_idx on public.observability_events (booking_id) where booking_id is not null;

-- Events are read by time, by type, by booking and by restaurant (the verification report for one
-- restaurant, and the foreign key's ON DELETE SET NULL when a restaurant is removed).
create index observability_events_restaurant_idx on public.observability_events (restaurant_id, created_at)
  where restaurant_id is not null;

-- Write one event. Used by every RPC so events share the transaction of the change they describe.
-- `p_at` is the moment the event describes, for callers whose work runs later than their transaction began
-- (the sweeper loops inside one pg_cron call); by default the transaction's time.
create function private.record_event(
  p_source text, p_event_type text, p_severity text, p_context jsonb, p_restaurant_id uuid, p_booking_id uuid,
  p_at timestamptz default null
) returns void language sql set search_path = '' as $$
  insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
  values (p_source, p_event_type, p_severity, coalesce(p_context, '{}'::jsonb), p_restaurant_id, p_booking_id,
          coalesce(p_at, pg_catalog.now()));
$$;

create table public.booking_assignment_state_history (
  id bigint generated always as identity primary key,
  booking_id uuid not null references public.bookings (id) on delete cascade,
  from_state text not null,
  to_state text not null,
  version integer not null,
  reason text,
  metadata jsonb not null default '{}'::jsonb,
  actor text not null,
  created_at timestamptz not null default now(),
  constraint state_history_has_one_row_per_version unique (booking_id, version),
  constraint state_history_metadata_has_no_personal_data check (not private.jsonb_has_personal_data(metadata)),
  constraint state_history_reason_has_no_email_or_phone_number check (not private.text_has_personal_data(reason)),
  constraint state_history_actor_has_no_email_or_phone_number check (not private.text_has_personal_data(actor))
);
comment on table public.booking_assignment_state_history is
  'Every assignment-state transition, one row per resulting version, written by the transition itself (and by nothing else: the row is the proof the booking''s state guard asks for). Reasons are scrubbed of e-mail addresses and phone numbers on the way in.';
create index booking_assignment_state_history_created_idx on public.booking_assignment_state_history (created_at);

create table public.booking_assignment_attempts (
  id bigint generated always as identity primary key,
  booking_id uuid not null references public.bookings (id) on delete cascade,
  attempt_no integer not null constraint attempt_number_starts_at_one check (attempt_no >= 1),
  strategy text,
  result text not null
    constraint attempt_result_is_a_known_outcome check (result in ('success', 'retry', 'conflict', 'manual_review', 'error')),
  reason text,
  duration_ms integer constraint attempt_duration_is_not_negative check (duration_ms >= 0),
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint attempt_number_is_unique_per_booking unique (booking_id, attempt_no),
  constraint attempt_metadata_has_no_personal_data check (not private.jsonb_has_personal_data(metadata)),
  constraint attempt_reason_has_no_email_or_phone_number check (not private.text_has_personal_data(reason))
);
comment on table public.booking_assignment_attempts is 'One row per pipeline attempt on a booking and how it ended.';

alter table public.observability_events enable row level security;
alter table public.booking_assignment_state_history enable row level security;
alter table public.booking_assignment_attempts enable row level security;
revoke all on public.observability_events, public.booking_assignment_state_history,
  public.booking_assignment_attempts from public, anon, authenticated, service_role;
grant select on public.observability_events, public.booking_assignment_state_history,
  public.booking_assignment_attempts to service_role;

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
alter table public.shadow_comparisons enable row level security;
revoke all on public.shadow_comparisons from public, anon, authenticated, service_role;
grant select on public.shadow_comparisons to service_role;
revoke all on sequence public.observability_events_id_seq, public.booking_assignment_state_history_id_seq, public.booking_assignment_attempts_id_seq, public.shadow_comparisons_id_seq from public, anon, authenticated;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
