
-- Restaurants and their floor plans: zones, tables, which tables may be joined, how long a party
-- stays, and when the restaurant seats guests.

create table public.restaurants (
  id uuid primary key default gen_random_uuid(),
  name text not null constraint restaurant_name_is_not_blank check (btrim(name) <> ''),
  timezone text not null default 'UTC'
    constraint restaurant_timezone_is_a_known_zone check (private.is_known_time_zone(timezone)),
  default_turn_minutes integer not null default 90
    constraint restaurant_default_turn_is_between_15_minutes_and_8_hours check (default_turn_minutes between 15 and 480),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.restaurants is 'A venue whose bookings the pipeline seats. Times of day are read in `timezone`.';

create table public.zones (
  id uuid primary key default gen_random_uuid(),
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  name text not null constraint zone_name_is_not_blank check (btrim(name) <> ''),
  created_at timestamptz not null default now(),
  constraint zone_name_is_unique_in_its_restaurant unique (restaurant_id, name),
  constraint zone_is_identified_within_its_restaurant unique (restaurant_id, id)
);
comment on table public.zones is 'An area of a restaurant (main room, terrace, private room). Combined tables never span zones.';

create table public.restaurant_tables (
  id uuid primary key default gen_random_uuid(),
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  zone_id uuid not null,
  table_number text not null constraint table_number_is_not_blank check (btrim(table_number) <> ''),
  capacity integer not null constraint table_capacity_is_positive check (capacity > 0),
  min_party_size integer not null default 1,
  max_party_size integer not null,
  active boolean not null default true,
  out_of_service boolean not null default false,
  movable boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint table_party_range_starts_at_one_or_more check (min_party_size >= 1),
  constraint table_party_range_is_not_inverted check (min_party_size <= max_party_size),
  constraint table_max_party_fits_its_capacity check (max_party_size <= capacity),
  constraint table_number_is_unique_in_its_restaurant unique (restaurant_id, table_number),
  constraint table_is_identified_within_its_restaurant unique (restaurant_id, id),
  constraint table_zone_belongs_to_the_same_restaurant
    foreign key (restaurant_id, zone_id) references public.zones (restaurant_id, id) on delete cascade
);
comment on table public.restaurant_tables is
  'A physical table. Seats parties of min..max alone; `movable` tables may be joined with adjacent ones; inactive or out-of-service tables are never assigned.';
create index restaurant_tables_zone_idx on public.restaurant_tables (zone_id);

create table public.table_adjacency (
  restaurant_id uuid not null,
  table_a uuid not null,
  table_b uuid not null,
  created_at timestamptz not null default now(),
  primary key (table_a, table_b),
  constraint adjacency_has_no_self_edges check (table_a <> table_b),
  constraint adjacency_is_stored_once_with_the_lower_id_first check (table_a < table_b),
  constraint adjacency_table_a_belongs_to_the_restaurant
    foreign key (restaurant_id, table_a) references public.restaurant_tables (restaurant_id, id) on delete cascade,
  constraint adjacency_table_b_belongs_to_the_restaurant
    foreign key (restaurant_id, table_b) references public.restaurant_tables (restaurant_id, id) on delete cascade
);
comment on table public.table_adjacency is
  'Undirected edges between tables that can be pushed together. Insert in either order; the pair is stored once, lower id first.';
create index table_adjacency_table_b_idx on public.table_adjacency (table_b);

-- Normalise the edge so (a, b) and (b, a) are the same row and the primary key rejects the second.
create function private.order_adjacency_pair()
returns trigger language plpgsql set search_path = '' as $$
declare swap uuid;
begin
  if new.table_a > new.table_b then
    swap := new.table_a;
    new.table_a := new.table_b;
    new.table_b := swap;
  end if;
  return new;
end $$;
create trigger order_adjacency_pair before insert or update on public.table_adjacency
  for each row execute function private.order_adjacency_pair();

create table public.turn_time_policies (
  id uuid primary key default gen_random_uuid(),
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  min_party_size integer not null,
  max_party_size integer not null,
  dining_minutes integer not null,
  buffer_before_minutes integer not null default 0,
  buffer_after_minutes integer not null default 0,
  constraint turn_time_band_starts_at_one_or_more check (min_party_size >= 1),
  constraint turn_time_band_is_not_inverted check (min_party_size <= max_party_size),
  constraint turn_time_is_between_15_minutes_and_8_hours check (dining_minutes between 15 and 480),
  constraint turn_time_buffers_are_between_0_and_120_minutes
    check (buffer_before_minutes between 0 and 120 and buffer_after_minutes between 0 and 120),
  constraint turn_time_bands_do_not_overlap exclude using gist (
    restaurant_id with =, int4range(min_party_size, max_party_size, '[]') with &&)
);
comment on table public.turn_time_policies is
  'How long a party of a given size keeps its tables, plus reset buffers before and after. Parties outside every band use restaurants.default_turn_minutes.';

create table public.service_periods (
  id uuid primary key default gen_random_uuid(),
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  name text not null constraint service_period_name_is_not_blank check (btrim(name) <> ''),
  day_of_week smallint not null constraint service_day_is_0_sunday_to_6_saturday check (day_of_week between 0 and 6),
  starts_at time not null,
  ends_at time not null,
  constraint service_period_ends_after_it_starts check (ends_at > starts_at)
);
comment on table public.service_periods is
  'When a restaurant seats guests, in its local time. A booking must start and end within one period of its local day. A service past midnight is two rows (…–24:00 and 00:00–…).';
create index service_periods_restaurant_day_idx on public.service_periods (restaurant_id, day_of_week);

create trigger touch_updated_at before update on public.restaurants
  for each row execute function private.touch_updated_at();
create trigger touch_updated_at before update on public.restaurant_tables
  for each row execute function private.touch_updated_at();

-- Nothing here is readable through the Data API: RLS on, no policies, and the API roles' default grants revoked.
alter table public.restaurants enable row level security;
alter table public.zones enable row level security;
alter table public.restaurant_tables enable row level security;
alter table public.table_adjacency enable row level security;
alter table public.turn_time_policies enable row level security;
alter table public.service_periods enable row level security;
revoke all on public.restaurants, public.zones, public.restaurant_tables, public.table_adjacency,
  public.turn_time_policies, public.service_periods from public, anon, authenticated, service_role;
grant select, insert, update, delete on public.restaurants, public.zones, public.restaurant_tables,
  public.table_adjacency, public.turn_time_policies, public.service_periods to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
