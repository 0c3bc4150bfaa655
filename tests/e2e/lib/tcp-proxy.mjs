// A TCP proxy to 127.0.0.1:<target> that tests can switch down (connections are reset) and up,
// and throttle (client -> target bytes per second). Counts bytes in both directions.
import net from 'node:net';

const SLICE = 16 * 1024;

export async function startTcpProxy(targetPort) {
  const conns = new Set();
  const state = { up: true, rate: null, bytesUp: 0, bytesDown: 0, connections: 0, refused: 0 };

  const server = net.createServer((client) => {
    if (!state.up) {
      state.refused++;
      client.resetAndDestroy ? client.resetAndDestroy() : client.destroy();
      return;
    }
    state.connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const c = { client, upstream, queue: [], timer: null, windowStart: Date.now(), windowBytes: 0 };
    conns.add(c);
    const kill = () => {
      conns.delete(c);
      clearTimeout(c.timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
    upstream.on('data', (d) => { state.bytesDown += d.length; client.write(d); });

    // client -> upstream, paced when throttled
    const pump = () => {
      c.timer = null;
      while (c.queue.length) {
        if (upstream.destroyed) return;
        let piece = c.queue[0];
        if (state.rate) {
          const now = Date.now();
          if (now - c.windowStart >= 1000) { c.windowStart = now; c.windowBytes = 0; }
          const budget = Math.floor(state.rate * Math.max(now - c.windowStart, 1) / 1000) - c.windowBytes;
          if (budget <= 0) { c.timer = setTimeout(pump, 20); return; }
          if (piece.length > Math.min(budget, SLICE)) {
            c.queue[0] = piece.subarray(Math.min(budget, SLICE));
            piece = piece.subarray(0, Math.min(budget, SLICE));
          } else {
            c.queue.shift();
          }
          c.windowBytes += piece.length;
        } else {
          c.queue.shift();
        }
        state.bytesUp += piece.length;
        upstream.write(piece);
      }
      client.resume();
      if (c.ended) upstream.end();
    };
    client.on('data', (d) => {
      c.queue.push(d);
      if (state.rate) client.pause();
      if (!c.timer) pump();
    });
    client.on('end', () => { c.ended = true; if (!c.queue.length) upstream.end(); });
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const port = server.address().port;

  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    state,
    get bytesUp() { return state.bytesUp; },
    /** Down: reset every open connection and every new one. */
    down() {
      state.up = false;
      for (const c of [...conns]) { c.client.destroy(); c.upstream.destroy(); }
      conns.clear();
    },
    up() { state.up = true; },
    /** Bytes per second from client to target; null = unthrottled. */
    throttle(rate) {
      state.rate = rate; // queued data drains at the new rate from the next tick of each pump
    },
    /** Reset every open connection (the proxy stays up). */
    resetAll() {
      for (const c of [...conns]) { c.client.destroy(); c.upstream.destroy(); }
      conns.clear();
    },
    stop() {
      for (const c of [...conns]) { c.client.destroy(); c.upstream.destroy(); }
      return new Promise((res) => server.close(() => res()));
    },
  };
}
