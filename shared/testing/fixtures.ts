// Database fixtures for integration tests: a throwaway restaurant that is deleted afterwards
// (bookings, tables and events go with it through ON DELETE CASCADE / SET NULL).
import type postgres from "postgres";

export interface FixtureRestaurant {
  restaurantId: string;
  createBooking(partySize: number, startAt: string): Promise<string>;
}

export async function withFixtureRestaurant<T>(
  sql: postgres.Sql,
  body: (fixture: FixtureRestaurant) => Promise<T>,
): Promise<T> {
  const [{ id: restaurantId }] = await sql<{ id: string }[]>`
    insert into public.restaurants (name, timezone) values ('Fixture ' || gen_random_uuid(), 'UTC') returning id`;
  try {
    return await body({
      restaurantId,
      async createBooking(partySize, startAt) {
        const [{ id }] = await sql<{ id: string }[]>`
          insert into public.bookings (restaurant_id, party_size, start_at)
          values (${restaurantId}, ${partySize}, ${startAt}) returning id`;
        return id;
      },
    });
  } finally {
    await sql`delete from public.restaurants where id = ${restaurantId}`;
  }
}
