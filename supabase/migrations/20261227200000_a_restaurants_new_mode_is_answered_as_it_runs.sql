-- ops.set_restaurant_mode answers the mode the restaurant runs, capped by the function's feature flags.
--
-- It answered the database's choice alone (private.effective_mode): during a rollback made through the flags
-- (FEATURE_ASSIGNMENT_PIPELINE_V3=false, so a legacy ceiling), setting a restaurant to v3 answered
-- {"mode": "v3", "reason": "restaurant override"} while its bookings ran legacy, and ops.restaurant_modes() said
-- so. It answers as ops.restaurant_modes() does now (private.decide_mode with the ceiling last heard), and the
-- reason says when the flags cap it. Body as in 20261201101800, with that answer.

create or replace function ops.set_restaurant_mode(p_restaurant_id uuid, p_mode text, p_actor text,
                                                   p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  result jsonb;
begin
  perform private.act_as(p_actor, p_reason);
  if p_mode is not null and not p_mode = any(private.pipeline_modes()) then
    raise exception using errcode = 'AS005', message = 'mode must be off, legacy, shadow, v3, or null to follow the rollout';
  end if;
  if not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  insert into private.restaurant_pipeline_settings as o (restaurant_id, mode) values (p_restaurant_id, p_mode)
  on conflict (restaurant_id) do update set mode = excluded.mode, updated_at = pg_catalog.now();
  select pg_catalog.jsonb_build_object('restaurant_id', p_restaurant_id, 'mode', m.mode, 'reason', m.reason)
    into result from private.decide_mode(p_restaurant_id, private.function_ceiling()) m;
  return result;
end $$;
comment on function ops.set_restaurant_mode(uuid, text, text, text) is
  'Override one restaurant''s mode (off, legacy, shadow, v3), or pass null to let the rollout decide again. Answers the mode it runs now, as ops.restaurant_modes() does: capped by the function''s feature flags, and the reason says so.';
