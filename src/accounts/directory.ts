// Looking people up by username: how tasks and templates show the users they name.
import type { Db } from '../db/database';

export interface PersonName {
  id: number;
  username: string;
  display_name: string;
}

/** The users among `usernames` (unknown names are left out). */
export async function usersByUsername(db: Db, usernames: readonly string[]): Promise<PersonName[]> {
  if (usernames.length === 0) return [];
  return db.selectFrom('users').select(['id', 'username', 'display_name']).where('username', 'in', [...new Set(usernames)]).execute();
}

/** username → display name (the username when it has none), for the known users among `usernames`. */
export async function displayNames(db: Db, usernames: readonly string[]): Promise<Map<string, string>> {
  const users = await usersByUsername(db, usernames);
  return new Map(users.map((u) => [u.username, u.display_name || u.username]));
}
