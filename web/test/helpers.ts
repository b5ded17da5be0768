// Test helpers: a scripted fetch, rendering into happy-dom, and bounded waits.
import { render, type ComponentChild } from 'preact';
import { act } from 'preact/test-utils';
import { vi } from 'vitest';

export interface Call {
  method: string;
  path: string;
  body: unknown;
  auth: string;
}

type Handler = (call: Call) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>;

// Replaces fetch with `handler`; returns the calls made. A thrown error is a network failure.
export function fakeFetch(handler: Handler): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, 'http://localhost');
    const headers = (init.headers ?? {}) as Record<string, string>;
    const call: Call = {
      method: init.method ?? 'GET',
      path: url.pathname + url.search,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      auth: headers.Authorization ?? '',
    };
    calls.push(call);
    const r = await handler(call);
    const status = r.status ?? 200;
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), {
      status,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  return calls;
}

// A token the app can decode (the signature is not checked client-side).
export function token(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}

export async function mount(node: ComponentChild): Promise<HTMLElement> {
  const root = document.createElement('div');
  document.body.appendChild(root);
  await act(() => {
    render(node, root);
  });
  return root;
}

export async function waitFor<T>(what: string, fn: () => T | null | undefined | false, ms = 2000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not true after ${ms} ms: ${what}`);
    await act(() => new Promise((r) => setTimeout(r, 10)));
  }
}

export function text(el: Element): string {
  return (el.textContent ?? '').replace(/\s+/g, ' ');
}

// Sets an input's value the way typing does.
export async function type(input: Element | null, value: string): Promise<void> {
  if (!input) throw new Error('no such input');
  await act(() => {
    (input as HTMLInputElement).value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

export async function click(el: Element | null | undefined): Promise<void> {
  if (!el) throw new Error('nothing to click');
  await act(() => {
    (el as HTMLElement).click();
  });
}

export function button(root: Element, label: string): HTMLButtonElement | undefined {
  return [...root.querySelectorAll('button')].find((b) => text(b).trim() === label);
}
