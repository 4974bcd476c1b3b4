// The reference of the fan-out benchmark: a bare `ws` server that, once told to, broadcasts
// `count` messages (each carrying its send time) to every connected client, one every
// `intervalMs`: one JSON.stringify per message, then one send per subscriber, nothing else.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer();
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const { count, intervalMs } = JSON.parse(String(data));
    let sequence = 0;
    const timer = setInterval(() => {
      sequence++;
      const message = JSON.stringify({ sequence, sentAt: performance.timeOrigin + performance.now(), message: 'x'.repeat(60) });
      for (const client of wss.clients) client.send(message);
      if (sequence === count) {
        clearInterval(timer);
        for (const client of wss.clients) client.send(JSON.stringify({ done: true }));
      }
    }, intervalMs);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
