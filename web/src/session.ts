// The logged-in user: tokens kept in localStorage (under the original dashboard's keys) and the
// claims the UI needs, decoded from the access token.
import { computed, signal } from '@preact/signals';

export interface Claims {
  sub: string;
  roles: string[];
  organization: string;
  exp?: number;
}

export interface Session {
  token: string;
  refreshToken: string;
  claims: Claims;
  // The organization named at login; empty for the default one.
  organizationName: string;
}

const kToken = 'api_token';
const kRefresh = 'api_refresh_token';
const kOrganization = 'oak_organization_name';

export function decodeClaims(token: string): Claims | null {
  try {
    const part = token.split('.')[1];
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const c = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    if (typeof c.sub !== 'string') return null;
    return {
      sub: c.sub,
      roles: Array.isArray(c.roles) ? c.roles.filter((r: unknown) => typeof r === 'string') : [],
      organization: typeof c.organization === 'string' ? c.organization : '',
      exp: typeof c.exp === 'number' ? c.exp : undefined,
    };
  } catch {
    return null;
  }
}

function load(): Session | null {
  const token = localStorage.getItem(kToken);
  const refreshToken = localStorage.getItem(kRefresh);
  const claims = token ? decodeClaims(token) : null;
  const organizationName = localStorage.getItem(kOrganization) ?? '';
  return token && refreshToken && claims ? { token, refreshToken, claims, organizationName } : null;
}

export const session = signal<Session | null>(load());
// Why the user was sent to the login page, if not by their own choice.
export const sessionNotice = signal('');

export const isAdmin = computed(() => session.value?.claims.roles.includes('Admin') ?? false);

export function startSession(token: string, refreshToken: string, organizationName = ''): void {
  const claims = decodeClaims(token);
  if (!claims) throw new Error('The server answered the login with a token this page cannot read');
  localStorage.setItem(kToken, token);
  localStorage.setItem(kRefresh, refreshToken);
  localStorage.setItem(kOrganization, organizationName);
  sessionNotice.value = '';
  session.value = { token, refreshToken, claims, organizationName };
}

export function updateAccessToken(token: string): void {
  const claims = decodeClaims(token);
  if (!session.value || !claims) return;
  localStorage.setItem(kToken, token);
  session.value = { ...session.value, token, claims };
}

export function endSession(): void {
  localStorage.removeItem(kToken);
  localStorage.removeItem(kRefresh);
  localStorage.removeItem(kOrganization);
  session.value = null;
}

export function expireSession(): void {
  endSession();
  sessionNotice.value = 'Your session has expired. Please log in again.';
}

// Another tab logged in or out.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key === kToken || e.key === kRefresh) session.value = load();
  });
}
