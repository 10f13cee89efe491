
-- Which tables a booking holds. Released rows stay as history; the exclusion constraint makes a
-- double booking impossible whatever wrote the row (pipeline, manual assignment, ops).

create table public.booking_table_assignments (
  id bigint generated always as identity primary key,
  booking_id uuid not null,
  restaurant_id uuid not null,
  table_id uuid not null,
  during tstzrange not null,
  source text not null default 'auto'
    constraint assignment_source_is_auto_manual_or_ops check (source in ('auto', 'manual', 'ops')),
  assigned_by text,
  released_at timestamptz,
  release_reason text,
  created_at timestamptz not null default now(),
  constraint assignment_booking_belongs_to_the_restaurant
    foreign key (restaurant_id, booking_id) references public.bookings (restaurant_id, id) on delete cascade,
  constraint assignment_table_belongs_to_the_restaurant
    foreign key (restaurant_id, table_id) references public.restaurant_tables (restaurant_id, id),
  constraint assignment_window_is_bounded_and_not_empty
    check (not isempty(during) and lower_inf(during) is false and upper_inf(during) is false),
  constraint assignment_is_released_after_it_was_made check (released_at is null or released_at >= created_at),
  constraint table_is_never_double_booked
    exclude using gist (table_id with =, during with &&) where (released_at is null)
);
comment on table public.booking_table_assignments is
  'Tables held by bookings over `during` (stay plus buffers, half-open so back-to-back bookings fit). Active while released_at is null.';
comment on constraint table_is_never_double_booked on public.booking_table_assignments is
  'The last line of defence: no table is held by two overlapping active assignments, from any path.';

create index booking_table_assignments_booking_idx on public.booking_table_assignments (booking_id)
  where released_at is null;
create index booking_table_assignments_restaurant_during_idx on public.booking_table_assignments
  using gist (restaurant_id, during) where released_at is null;

-- Release every table a booking holds (used by cancellation, re-assignment and escalation).
create function private.release_booking_tables(p_booking_id uuid, p_reason text)
returns integer language sql set search_path = '' as $$
  with released as (
    update public.booking_table_assignments
       set released_at = pg_catalog.now(), release_reason = p_reason
     where booking_id = p_booking_id and released_at is null
    returning 1)
  select count(*)::integer from released;
$$;

alter table public.booking_table_assignments enable row level security;
revoke all on public.booking_table_assignments from public, anon, authenticated, service_role;
grant select on public.booking_table_assignments to service_role;
revoke all on sequence public.booking_table_assignments_id_seq from public, anon, authenticated;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
