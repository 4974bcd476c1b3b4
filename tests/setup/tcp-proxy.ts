import { createServer, type Server, type Socket, connect } from 'node:net';

/*
 * A TCP proxy between the app and a database server, to take the database away and give it
 * back: `down()` cuts every open connection and refuses new ones (the port stops listening),
 * `up()` listens again on the same port. What the app sees is exactly a database that went
 * away: reset connections, then ECONNREFUSED. `stall()` is the other fault a network has:
 * connections stay open (new ones are accepted too) but nothing flows until `resume()`.
 */

export interface TcpProxy {
  readonly port: number;
  /** Cuts every connection and stops accepting new ones. */
  down(): Promise<void>;
  /** Accepts connections again, on the same port. */
  up(): Promise<void>;
  /** Stops forwarding bytes either way; no connection is closed. */
  stall(): Promise<void>;
  /** Forwards again what was held and what comes next. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  const flow = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ([client, upstream]: [Socket, Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const createListener = (): Server =>
    createServer((client) => {
      const upstream = connect(target.port, target.host);
      track(client);
      track(upstream);
      const cut = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', cut);
      upstream.on('error', cut);
      client.on('close', cut);
      upstream.on('close', cut);
      const pair: [Socket, Socket] = [client, upstream];
      pairs.add(pair);
      client.once('close', () => pairs.delete(pair));
      if (stalled) hold(pair);
      else flow(pair);
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const stop = async (server: Server) => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  let server: Server | undefined = createListener();
  const port = await listen(server, 0);
  return {
    port,
    async down() {
      if (!server) return;
      const current = server;
      server = undefined;
      await stop(current);
    },
    async up() {
      if (server) return;
      server = createListener();
      await listen(server, port);
    },
    async stall() {
      stalled = true;
      for (const pair of pairs) hold(pair);
    },
    async resume() {
      stalled = false;
      for (const pair of pairs) flow(pair);
    },
    async close() {
      if (server) await stop(server);
      server = undefined;
    },
  };
}

/** A proxy in front of the database at `url`, and the URL that goes through it. */
export async function proxyDatabase(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(url);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const proxied = new URL(url);
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.toString() };
}
