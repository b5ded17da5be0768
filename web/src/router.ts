// A small history router: the path is a signal, links push state, and routes are patterns with
// `:name` segments.
import { signal } from '@preact/signals';

export const currentPath = signal(typeof location === 'undefined' ? '/' : location.pathname);

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  currentPath.value = location.pathname;
  window.scrollTo?.(0, 0);
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => {
    currentPath.value = location.pathname;
  });
}

export type Params = Record<string, string>;

// The parameters of `path` under `pattern` ("/apps/:id"), or null when it does not match.
export function match(pattern: string, path: string): Params | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Params = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

// Handles clicks on in-app links without reloading (modifier clicks open new tabs as usual).
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
    return;
  }
  const a = (e.target as Element).closest?.('a');
  const href = a?.getAttribute('href');
  if (!a || !href || !href.startsWith('/') || a.target || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(href);
}
