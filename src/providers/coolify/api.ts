/*
 * The part of Coolify's REST API (v4, `/api/v1`) a deployment needs: the application, its
 * pinned commit, a deployment and its log, cancel, start and stop. Every call carries the API
 * token as a bearer token and nothing else does: errors name the call and Coolify's answer,
 * never the token. Redirects are not followed (they would carry the token elsewhere).
 */

/** How long one API call may take. */
const CALL_TIMEOUT_MS = 30_000;

/** The fields of a Coolify application Fraisier reads. */
export interface CoolifyApplication {
  uuid: string;
  name?: string;
  /** The commit its next deployment builds: a SHA, or "HEAD" (the tip of git_branch). */
  git_commit_sha?: string;
  git_branch?: string;
  git_repository?: string;
  /** "<state>:<health>", e.g. running:healthy, running:unknown, exited:unhealthy. */
  status?: string;
  /** nixpacks, railpack, static, dockerfile, dockercompose (built from git) or dockerimage (a registry image). */
  build_pack?: string;
  /** The application's addresses, comma-separated (https://app.example.com,...). */
  fqdn?: string | null;
}

export type CoolifyDeploymentStatus = 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';

/** A deployment (Coolify's ApplicationDeploymentQueue), as far as Fraisier reads it. */
export interface CoolifyDeployment {
  deployment_uuid: string;
  status: CoolifyDeploymentStatus | string;
  /** The commit it builds: the pinned SHA, or the branch tip once Coolify resolved it. */
  commit?: string | null;
  /** A JSON string of log entries; absent for a token without the read:sensitive ability. */
  logs?: string | null;
  deployment_url?: string | null;
}

/** One entry of a deployment's log. */
export interface CoolifyLogEntry {
  command?: string | null;
  output?: string;
  type?: string;
  hidden?: boolean;
  order?: number;
}

/** A Coolify deployment in one of these has ended. */
export const ENDED_STATUSES: ReadonlySet<string> = new Set(['finished', 'failed', 'cancelled-by-user']);

/** Coolify answered with an error status (or not at all: status 0). */
export class CoolifyApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Coolify's own message, when it gave one. */
    readonly coolifyMessage?: string,
    /** Seconds to wait before asking again (429). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'CoolifyApiError';
  }
}

export interface CoolifyApiOptions {
  endpoint: string;
  apiKey: string;
  signal?: AbortSignal;
}

export class CoolifyApi {
  readonly base: string;
  readonly #apiKey: string;
  readonly #signal: AbortSignal | undefined;

  constructor(options: CoolifyApiOptions) {
    this.base = apiBase(options.endpoint);
    this.#apiKey = options.apiKey;
    this.#signal = options.signal;
  }

  application(uuid: string): Promise<CoolifyApplication> {
    return this.#call('GET', `/applications/${encodeURIComponent(uuid)}`);
  }

  /** Pins the commit the application's next deployment builds (a SHA, or HEAD). */
  async pinCommit(uuid: string, commit: string): Promise<void> {
    await this.#call('PATCH', `/applications/${encodeURIComponent(uuid)}`, { git_commit_sha: commit });
  }

  /** Queues a deployment of the application; its answer's entry for it. */
  async deploy(uuid: string, force: boolean): Promise<{ message: string; deployment_uuid?: string }> {
    const query = new URLSearchParams({ uuid });
    // Coolify reads any value of force, "false" included, as true: it is sent only when wanted.
    if (force) query.set('force', 'true');
    const answer = await this.#call<{ deployments?: { message?: string; resource_uuid?: string; deployment_uuid?: string }[] }>('POST', `/deploy?${query}`);
    const entry = answer.deployments?.find((d) => d.resource_uuid === uuid) ?? answer.deployments?.[0];
    if (!entry) throw new CoolifyApiError(`POST ${this.base}/deploy: Coolify queued nothing for application ${uuid}`, 200);
    return { message: entry.message ?? '', ...(entry.deployment_uuid ? { deployment_uuid: entry.deployment_uuid } : {}) };
  }

  deployment(deploymentUuid: string): Promise<CoolifyDeployment> {
    return this.#call('GET', `/deployments/${encodeURIComponent(deploymentUuid)}`);
  }

  /** The application's latest deployments, newest first. */
  async deployments(uuid: string, take = 10): Promise<CoolifyDeployment[]> {
    const answer = await this.#call<{ deployments?: CoolifyDeployment[] }>('GET', `/deployments/applications/${encodeURIComponent(uuid)}?skip=0&take=${take}`);
    return answer.deployments ?? [];
  }

  async cancel(deploymentUuid: string): Promise<void> {
    await this.#call('POST', `/deployments/${encodeURIComponent(deploymentUuid)}/cancel`);
  }

  async logs(uuid: string, lines: number): Promise<string> {
    return (await this.#call<{ logs?: string }>('GET', `/applications/${encodeURIComponent(uuid)}/logs?lines=${lines}`)).logs ?? '';
  }

  async stop(uuid: string): Promise<void> {
    await this.#call('POST', `/applications/${encodeURIComponent(uuid)}/stop`);
  }

  async start(uuid: string): Promise<{ deployment_uuid?: string }> {
    return this.#call('POST', `/applications/${encodeURIComponent(uuid)}/start`);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.base}${path}`;
    const what = `${method} ${url.split('?')[0]}`;
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        redirect: 'manual',
        signal: this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.#apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      if (this.#signal?.aborted) throw error;
      if (timeout.aborted) throw new CoolifyApiError(`${what}: no answer within ${CALL_TIMEOUT_MS / 1000}s`, 0);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CoolifyApiError(`${what}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, 0);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (response.status >= 300) {
      const coolifyMessage = messageOf(parsed);
      const retry = Number(response.headers.get('retry-after'));
      throw new CoolifyApiError(
        `${what}: ${describeStatus(response, coolifyMessage)}`,
        response.status,
        coolifyMessage,
        Number.isFinite(retry) && retry > 0 ? retry : undefined,
      );
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
      throw new CoolifyApiError(`${what}: the answer is not JSON (is ${this.base} a Coolify API?)`, response.status);
    }
    return parsed as T;
  }
}

/** `https://coolify.example.com` (or with /api/v1 already) → https://coolify.example.com/api/v1 */
export function apiBase(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return /\/api\/v1$/.test(trimmed) ? trimmed : `${trimmed}/api/v1`;
}

/** A deployment's log entries, in order, from the JSON string Coolify stores them as. */
export function logEntries(logs: string | null | undefined): CoolifyLogEntry[] {
  if (!logs) return [];
  try {
    const entries = JSON.parse(logs) as unknown;
    if (!Array.isArray(entries)) return [];
    // The first entry may have no order: it goes first.
    return entries
      .filter((e): e is CoolifyLogEntry => typeof e === 'object' && e !== null)
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.order ?? 0) - (b.e.order ?? 0) || a.i - b.i)
      .map(({ e }) => e);
  } catch {
    return [];
  }
}

function messageOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { message, errors } = body as { message?: unknown; errors?: unknown };
  const text = typeof message === 'string' ? message : Array.isArray(message) ? message.join(' ') : undefined;
  if (errors && typeof errors === 'object') {
    const details = Object.entries(errors as Record<string, unknown>).map(([field, problems]) => `${field}: ${Array.isArray(problems) ? problems.join(' ') : String(problems)}`);
    if (details.length) return `${text ?? 'invalid'} (${details.join('; ')})`;
  }
  return text;
}

function describeStatus(response: Response, coolifyMessage: string | undefined): string {
  const said = coolifyMessage ? ` (${coolifyMessage})` : '';
  switch (response.status) {
    case 401:
      return `Coolify refused the API key${said}: check target.api_key`;
    case 403:
      return `Coolify forbids it${said}: the token needs the read, write and deploy abilities, and the API must be enabled`;
    default:
      if (response.status >= 300 && response.status < 400) {
        return `Coolify answered with a redirect to ${response.headers.get('location') ?? 'elsewhere'}: set target.endpoint to the address it serves its API on`;
      }
      return `HTTP ${response.status}${said}`;
  }
}
