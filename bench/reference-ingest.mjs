// The second reference of the ingest benchmark: the least a server can do and still do the
// work Fraisier does for a signed GitHub push, with no framework at all. node:http, the HMAC
// checked in constant time, the body parsed, the rows Fraisier writes (the delivery with its
// payload, the request, the deployment, the older pending one superseded, the link) in the
// same schema, after ordering the push against what is queued, running and deployed (newest
// commit wins: the same reads, and the same walk back through recorded pushes when those do
// not tell), committed in batches before any answer, and a JSON answer of the same shape.
// One thread, no logging, no metrics, no GraphQL, no checks beyond these.
//
// It answers the question the bare node:http reference cannot: how much of the gap is the
// work itself on this machine. The statements are the ones Fraisier's queue runs for a push
// (src/deploy/queue.ts, src/store/*.repository.ts), on the columns a push fills.
//
//   node bench/reference-ingest.mjs <sqlite file, migrated> <webhook secret> [--no-payload]
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import BetterSqlite3 from 'better-sqlite3';

const [file, secret, ...flags] = process.argv.slice(2);
if (!file || !secret) {
  console.error('usage: reference-ingest.mjs <sqlite file> <webhook secret> [--no-payload]');
  process.exit(2);
}
const keepPayload = !flags.includes('--no-payload');

const db = new BetterSqlite3(file, { timeout: 5_000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');

const insertEvent = db.prepare(
  `INSERT INTO tb_webhook_event (received_at, provider, event_type, delivery_id, repository, ref, branch, commit_sha, before_sha,
     sender, commit_message, commit_author, outcome, reason, processed, source_ip, payload)
   VALUES (?, 'github', 'push', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, 1, ?, ?)
   ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id`,
);
const insertRequest = db.prepare(
  `INSERT INTO tb_deployment_request (fraise, environment, kind, requested_at, requested_by, trigger_type, git_branch, git_commit, force, fk_webhook_event, context)
   VALUES ('site', 'production', 'deploy', ?, ?, 'webhook', ?, ?, 0, ?, ?) RETURNING id`,
);
const insertDeployment = db.prepare(
  `INSERT INTO tb_deployment (fk_request, fraise, environment, status, requested_at, git_commit, git_branch, target_provider, target_config, attempt, cancel_requested)
   VALUES (?, 'site', 'production', 'pending', ?, ?, ?, 'custom', ?, 0, 0) RETURNING id`,
);
const supersede = db.prepare(
  `UPDATE tb_deployment SET status = 'superseded', completed_at = ?, error_message = ?
   WHERE fraise = 'site' AND environment = 'production' AND status = 'pending' AND id < ? AND job IS NULL RETURNING id`,
);
const link = db.prepare('UPDATE tb_webhook_event SET fk_deployment = ? WHERE id = ?');
const settle = db.prepare('UPDATE tb_webhook_event SET fk_deployment = ?, outcome = ?, reason = ?, processed = ? WHERE id = ?');
const active = db.prepare(
  `SELECT id, status, git_commit FROM tb_deployment WHERE status IN ('pending', 'in_progress') AND fraise = 'site' AND environment = 'production' AND job IS NULL`,
);
const current = db.prepare(`SELECT current_version FROM tb_fraise_state WHERE fraise = 'site' AND environment = 'production'`);
const recentPushes = db.prepare(
  `SELECT d.git_commit, e.before_sha FROM tb_deployment d JOIN tb_deployment_request r ON r.id = d.fk_request JOIN tb_webhook_event e ON e.id = r.fk_webhook_event
   WHERE d.fraise = 'site' AND d.environment = 'production' AND d.job IS NULL AND r.trigger_type = 'webhook' ORDER BY d.id DESC LIMIT 200`,
);
const finish = db.prepare(`UPDATE tb_deployment SET status = 'superseded', completed_at = ?, error_message = ? WHERE id = ?`);
const ZERO = /^0+$/;

/** Newest commit wins, as src/deploy/push-order.ts orders a push: 'queue', 'replay' or 'older'. */
function order(after, before) {
  const heads = active.all().sort((a, b) => b.id - a.id).map((row) => row.git_commit).filter(Boolean);
  const deployed = current.get()?.current_version;
  if (deployed) heads.push(deployed);
  if (heads.length === 0) return 'queue';
  if (heads[0] === after) return 'replay';
  if (before && !ZERO.test(before) && before === heads[0]) return 'queue';
  if (heads.includes(after)) return 'replay';
  const befores = new Map();
  for (const row of recentPushes.all()) {
    if (!row.git_commit || !row.before_sha || ZERO.test(row.before_sha)) continue;
    befores.set(row.git_commit, [...(befores.get(row.git_commit) ?? []), row.before_sha]);
  }
  for (const head of heads) {
    const seen = new Set([head]);
    const walk = [head];
    while (walk.length) {
      for (const earlier of befores.get(walk.shift()) ?? []) {
        if (earlier === after) return 'older';
        if (!seen.has(earlier)) seen.add(earlier) && walk.push(earlier);
      }
    }
  }
  return 'queue';
}
const REASON = 'site/production: push to main';
const TARGET = JSON.stringify({ provider: 'custom', steps: [{ name: 'build', command: ['sleep', '2'] }] });

const write = db.transaction((batch) => {
  for (const d of batch) {
    const event = insertEvent.get(d.now, d.deliveryId, d.repository, d.ref, d.branch, d.after, d.before, d.sender, d.message, d.author, REASON, d.ip, d.payload);
    if (!event) continue; // a redelivery: answered as a duplicate
    d.eventId = event.id;
    d.order = order(d.after, d.before);
    if (d.order === 'replay') {
      settle.run(null, 'ignored', `commit ${d.after.slice(0, 12)} is already queued: nothing queued`, 0, event.id);
      continue;
    }
    const request = insertRequest.get(d.now, `webhook:github:${d.sender}`, d.branch, d.after, event.id, d.context).id;
    d.deploymentId = insertDeployment.get(request, d.now, d.after, d.branch, TARGET).id;
    if (d.order === 'older') finish.run(d.now, `commit ${d.after.slice(0, 12)} is older than the one queued`, d.deploymentId);
    else supersede.all(d.now, `superseded by deployment ${d.deploymentId}`, d.deploymentId);
    link.run(d.deploymentId, event.id);
  }
});
let queue = [];
function flush() {
  const batch = queue;
  queue = [];
  try {
    write.immediate(batch);
  } catch (error) {
    for (const d of batch) answer(d.response, 503, { accepted: false, message: `store unavailable: ${error.message}` });
    return;
  }
  for (const d of batch) {
    if (d.eventId === undefined) {
      answer(d.response, 200, { accepted: true, duplicate: true, message: `delivery ${d.deliveryId} was already received` });
      continue;
    }
    if (d.order === 'replay') {
      answer(d.response, 200, { accepted: true, duplicate: false, message: `commit ${d.after.slice(0, 12)} is already queued: nothing queued` });
      continue;
    }
    answer(d.response, d.order === 'queue' ? 202 : 200, {
      accepted: true,
      duplicate: false,
      message: `1 deployment queued: ${REASON}`,
      event: { id: String(d.eventId), outcome: 'accepted', reason: REASON, deliveryId: d.deliveryId },
      deployments: [{ id: String(d.deploymentId), fraise: 'site', environment: 'production', status: d.order === 'queue' ? 'PENDING' : 'SUPERSEDED', gitCommit: d.after, gitBranch: d.branch }],
    });
  }
}

function answer(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const text = (value) => (typeof value === 'string' && value !== '' ? value : null);

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const signature = request.headers['x-hub-signature-256'] ?? '';
    const digest = createHmac('sha256', secret).update(body).digest();
    const sent = /^sha256=[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature.slice(7), 'hex') : undefined;
    if (!sent || !timingSafeEqual(sent, digest)) return answer(response, 401, { accepted: false, message: 'bad signature' });
    const source = body.toString('utf8');
    let payload;
    try {
      payload = JSON.parse(source);
    } catch {
      return answer(response, 400, { accepted: false, message: 'the body is not JSON' });
    }
    const ref = text(payload.ref);
    const head = payload.head_commit ?? {};
    const deliveryId = request.headers['x-github-delivery'] ?? null;
    const sender = text(payload.sender?.login);
    const d = {
      response,
      now: new Date().toISOString(),
      deliveryId,
      repository: text(payload.repository?.full_name),
      ref,
      branch: ref?.startsWith('refs/heads/') ? ref.slice(11) : null,
      after: text(payload.after),
      before: text(payload.before),
      sender,
      message: text(head.message),
      author: text(head.author?.name),
      ip: request.socket.remoteAddress ?? null,
      payload: keepPayload ? source : null,
    };
    d.context = JSON.stringify({ provider: 'github', event: 'push', delivery_id: deliveryId, repository: d.repository, ref, branch: d.branch, commit: d.after, before: d.before, sender, author: d.author, message: d.message });
    // Group commit: what arrives in one turn of the event loop is written in one transaction.
    if (queue.length === 0) setImmediate(flush);
    queue.push(d);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
