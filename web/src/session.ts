// Who the token belongs to. GET /api/v1/whoami answers name and role; controllers without that
// route are asked indirectly (an admin-only list; an operator-only dry run that changes nothing).
import { api, ApiError, isNotFoundRoute } from './api';
import type { Role, Whoami } from './types';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function atLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

export async function whoami(token: string): Promise<Whoami> {
  const options = { keepSessionOn401: true, tokenOverride: token };
  try {
    return await api.get<Whoami>('/whoami', options);
  } catch (e) {
    if (!isNotFoundRoute(e)) throw e;
  }
  await api.get('/hosts', options); // 401 for a bad token
  try {
    await api.get('/tokens', options);
    return { name: 'admin', role: 'admin' };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
  }
  try {
    await api.post('/operations', { kind: 'migrate', vm: '', dry_run: true }, options);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return { name: 'viewer', role: 'viewer' };
  }
  return { name: 'operator', role: 'operator' };
}
