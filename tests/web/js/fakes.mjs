// Fakes for IrcClient's tests: a WebSocket that keeps what is sent and is fed lines, and
// a clock whose timers run when the test advances it.

export class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
  }
  send(line) {
    this.sent.push(line);
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(...lines) {
    for (const data of lines) this.onmessage?.({ data });
  }
  /** What was sent since the last take; `keepalive: false` leaves out the keepalive PINGs. */
  take({ keepalive = true } = {}) {
    const out = keepalive ? this.sent : this.sent.filter((line) => line !== "PING hubbub-web");
    this.sent = [];
    return out;
  }
}

export function fakeTimers() {
  const t = { now: 1_700_000_000_000, queue: [], nextId: 1 };
  t.setTimeout = (fn, ms) => {
    const id = t.nextId++;
    t.queue.push({ id, at: t.now + ms, fn });
    return id;
  };
  t.clearTimeout = (id) => {
    t.queue = t.queue.filter((x) => x.id !== id);
  };
  t.advance = (ms) => {
    const until = t.now + ms;
    for (;;) {
      t.queue.sort((a, b) => a.at - b.at);
      const next = t.queue[0];
      if (!next || next.at > until) break;
      t.queue.shift();
      t.now = next.at;
      next.fn();
    }
    t.now = until;
  };
  return t;
}
