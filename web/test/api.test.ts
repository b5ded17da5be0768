import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, apiReachable, errorText } from '../src/api';
import { session, sessionNotice, startSession } from '../src/session';
import { fakeFetch, token } from './helpers';

const far = () => Math.floor(Date.now() / 1000) + 600;
// The error a request fails with.
const failure = (p: Promise<unknown>): Promise<ApiError> =>
  p.then(
    () => {
      throw new Error('the request succeeded');
    },
    (x) => x as ApiError,
  );

describe('ApiError', () => {
  it('splits the field path from the message', () => {
    const e = new ApiError(422, "applications[0].microservices[1].memory: 1.5 is not of type 'integer'");
    expect(e.field).toBe('applications[0].microservices[1].memory');
    expect(e.detail).toBe("1.5 is not of type 'integer'");
    expect(new ApiError(422, '(root): the SLA must be a JSON object').field).toBe('(root)');
  });

  it('keeps sentences without a field whole', () => {
    const e = new ApiError(401, 'wrong username or password');
    expect(e.field).toBe('');
    expect(e.detail).toBe('wrong username or password');
    expect(new ApiError(409, 'instance 1 is not placed on a cluster (status X): retry').field).toBe('');
  });
});

describe('errorText', () => {
  it('never shows [object Object]', () => {
    expect(errorText({ a: 1 })).toBe('{"a":1}');
    expect(errorText(new Error('boom'))).toBe('boom');
    expect(errorText('plain')).toBe('plain');
  });
});

describe('requests', () => {
  beforeEach(() => {
    localStorage.clear();
    startSession(token({ sub: 'alice', roles: [], organization: 'o', exp: far() }), 'refresh-1');
  });
  afterEach(() => vi.unstubAllGlobals());

  it('sends the bearer token and parses JSON', async () => {
    const calls = fakeFetch(() => ({ body: [{ a: 1 }] }));
    expect(await api('/api/things')).toEqual([{ a: 1 }]);
    expect(calls[0].auth).toBe(`Bearer ${session.value!.token}`);
  });

  it('refreshes an expired token once and retries', async () => {
    const fresh = token({ sub: 'alice', roles: ['Admin'], organization: 'o', exp: far() });
    const calls = fakeFetch((c) => {
      if (c.path === '/api/auth/refresh') return { body: { token: fresh } };
      return c.auth === `Bearer ${fresh}` ? { body: { ok: true } } : { status: 401, body: { message: 'token expired' } };
    });
    expect(await api('/api/things')).toEqual({ ok: true });
    expect(calls.map((c) => c.path)).toEqual(['/api/things', '/api/auth/refresh', '/api/things']);
    expect(calls[1].auth).toBe('Bearer refresh-1');
    expect(session.value!.claims.roles).toEqual(['Admin']);
    expect(localStorage.getItem('api_token')).toBe(fresh);
  });

  it('ends the session when the refresh token is refused', async () => {
    fakeFetch(() => ({ status: 401, body: { message: 'expired' } }));
    await expect(api('/api/things')).rejects.toThrow('Your session has expired');
    expect(session.value).toBeNull();
    expect(sessionNotice.value).toContain('expired');
    expect(localStorage.getItem('api_token')).toBeNull();
  });

  it('reports an unreachable server as status 0 and flags it', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    const e = await failure(api('/api/things'));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(0);
    expect(e.message).toContain('Cannot reach the Oakestra API');
    expect(apiReachable.value).toBe(false);
    fakeFetch(() => ({ body: {} }));
    await api('/api/things');
    expect(apiReachable.value).toBe(true);
  });

  it('turns error answers into their message, even without JSON', async () => {
    fakeFetch(() => ({ status: 422, body: { code: 422, message: 'applications[0].application_name: bad' } }));
    const e = await failure(api('/api/application', { method: 'POST', body: {} }));
    expect(e.status).toBe(422);
    expect(e.field).toBe('applications[0].application_name');
    vi.stubGlobal('fetch', async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const g = await failure(api('/api/things'));
    expect(g.message).toContain('502 Bad Gateway');
  });
});
