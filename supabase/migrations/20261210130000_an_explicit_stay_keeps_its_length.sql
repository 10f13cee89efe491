-- A stay the platform gave an explicit end keeps its length when the booking's time or party size changes.
-- The turn policy derived the end again whenever a change did not name end_at itself, so a four-hour event
-- whose party grew from 10 to 12 became a two-and-a-half-hour booking: planned again on the shorter stay, or,
-- for a party already seated, its tables released for the rest of its evening (an attacker's review found it;
-- the tables were then free to the pipeline while the party sat at them).
-- An end is taken as derived when it is what the turn policy gives the booking as it was; any other end was
-- given, and its length is kept (shifted with the start). A change that sets a new end is taken as it is.
-- (Judged against the policy of the day: after the restaurant changes its dining times, an end derived from
-- the old ones reads as given and keeps its length, the safe side for a stay already promised.)

-- Body as in 20261201101600 (security definer since 20261202000000), keeping an explicit stay's length.
create or replace function private.reapply_turn_policy()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.start_at is distinct from old.start_at or new.party_size is distinct from old.party_size then
    if new.end_at is distinct from old.end_at then
      new := private.apply_turn_policy(new, false);
    elsif old.end_at is distinct from (private.apply_turn_policy(old, true)).end_at then
      new := private.apply_turn_policy(new, false);
      new.end_at := new.start_at + (old.end_at - old.start_at);
    else
      new := private.apply_turn_policy(new, true);
    end if;
  end if;
  return new;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
