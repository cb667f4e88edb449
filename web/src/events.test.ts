import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser, type SseMessage } from './events';

function parse(chunks: string[]): { messages: SseMessage[]; retries: number[] } {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const parser = new SseParser((m) => messages.push(m), (ms) => retries.push(ms));
  for (const c of chunks) parser.feed(c);
  return { messages, retries };
}

test('events split across chunks at any point', () => {
  const text = 'id: 7\nevent: vm.placed\ndata: {"seq":7}\n\nid: 8\nevent: vm.deleted\ndata: {"seq":8}\n\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const { messages } = parse([text.slice(0, cut), text.slice(cut)]);
    assert.deepEqual(messages, [
      { id: '7', event: 'vm.placed', data: '{"seq":7}' },
      { id: '8', event: 'vm.deleted', data: '{"seq":8}' },
    ], `cut at ${cut}`);
  }
});

test('CRLF and CR line ends, a CRLF split between chunks', () => {
  const { messages } = parse(['id: 1\r\ndata: a\r', '\n\r\nid: 2\rdata: b\r\r']);
  assert.deepEqual(messages.map((m) => [m.id, m.data]), [['1', 'a'], ['2', 'b']]);
});

test('comments (keep-alives) and events without data dispatch nothing', () => {
  const { messages } = parse([': keep-alive\n\nevent: x\n\n:\n\n']);
  assert.equal(messages.length, 0);
});

test('multi-line data joins with newlines; one leading space is removed; default event name', () => {
  const { messages } = parse(['data:first\ndata:  second\n\n']);
  assert.deepEqual(messages, [{ id: undefined, event: 'message', data: 'first\n second' }]);
});

test('retry sets the reconnection delay; a bad retry is ignored', () => {
  const { retries } = parse(['retry: 2500\n\nretry: soon\n\n']);
  assert.deepEqual(retries, [2500]);
});

test('an incomplete event at the end waits for its blank line', () => {
  const { messages } = parse(['id: 3\ndata: x\n']);
  assert.equal(messages.length, 0);
});
