import { describe, expect, it } from 'vitest';
import { parseEventData, readEvents, splitEvents, type LogEvent } from '../src/logstream';

describe('log event stream', () => {
  it('splits complete events and keeps the partial rest', () => {
    const { events, rest } = splitEvents('data: {"line":"a"}\n\n: keepalive\n\ndata: {"li');
    expect(events).toEqual(['{"line":"a"}']);
    expect(rest).toBe('data: {"li');
  });

  it('understands lines, drops and the end', () => {
    expect(parseEventData('{"time":"t","stream":"stderr","line":"x"}')).toEqual({
      kind: 'line',
      time: 't',
      stream: 'stderr',
      line: 'x',
    });
    expect(parseEventData('{"dropped":3}')).toEqual({ kind: 'dropped', count: 3 });
    expect(parseEventData('{"end":"the instance was undeployed"}')).toEqual({ kind: 'end', why: 'the instance was undeployed' });
    expect(parseEventData('not json')).toBeNull();
  });

  it('reads events across arbitrary chunk boundaries', async () => {
    const text = 'data: {"time":"1","stream":"stdout","line":"hello"}\n\n: keepalive\n\ndata: {"end":"done"}\n\n';
    const chunks = [text.slice(0, 7), text.slice(7, 40), text.slice(40)];
    const body = new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
        c.close();
      },
    });
    const seen: LogEvent[] = [];
    await readEvents(new Response(body), (e) => seen.push(e));
    expect(seen).toEqual([
      { kind: 'line', time: '1', stream: 'stdout', line: 'hello' },
      { kind: 'end', why: 'done' },
    ]);
  });
});
