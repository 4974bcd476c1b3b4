/*
 * What a Git provider is to Fraisier: four functions over one HTTP delivery. They are pure (no
 * store, no clock of their own, no I/O), so the intake can verify before it touches anything
 * and tests can call them directly.
 */

/** Request headers with lower-case names (one value each). */
export type WebhookHeaders = Readonly<Record<string, string>>;

/**
 * What a delivery is about. Only `push` (and `tag_push`, where an environment opts in) can
 * deploy; everything else is recorded and ignored.
 */
export type EventKind = 'push' | 'tag_push' | 'branch_delete' | 'tag_delete' | 'ping' | 'pull_request' | 'other';

/** The repository a delivery came from, as the provider names it. */
export interface RepositoryInfo {
  /** "owner/name" (GitLab: `path_with_namespace`; Bitbucket Server: `PROJECT/slug`). */
  fullName: string | null;
  /** Clone, SSH and web URLs, matched against repository URLs in the configuration. */
  urls: string[];
}

/** One ref moved by a push. A delivery usually carries one; Bitbucket may carry several. */
export interface RefUpdate {
  kind: EventKind;
  /** Full ref name: `refs/heads/main`, `refs/tags/v1.2.0`. */
  ref: string | null;
  /** The commit the ref points to after the push (all zeros when it was deleted). */
  after: string | null;
  before: string | null;
  /** The head commit's message and author, as pushed: stored, never interpreted. */
  commitMessage: string | null;
  commitAuthor: string | null;
}

/** What a provider's `parse` returns: the delivery, read. */
export interface ParsedEvent extends RefUpdate {
  repository: RepositoryInfo | null;
  /** Who caused the delivery (login / username). */
  sender: string | null;
  /** The event type when the headers did not say (e.g. inferred from the payload). */
  eventType?: string;
  /** Why a `ping` or `other` is one, when worth saying ("GitLab test hook"). */
  note?: string;
  /** Further ref updates carried by the same delivery. */
  also?: RefUpdate[];
}

/** The event with what the intake adds: provider, event type, delivery id, branch or tag. */
export interface NormalizedEvent extends ParsedEvent {
  /** As stored: `github`, `gitlab`, `gitea`, `bitbucket` or `custom:<name>`. */
  provider: string;
  eventType: string;
  deliveryId: string | null;
  branch: string | null;
  tag: string | null;
}

/** What the headers of a delivery say about it (where each provider puts these). */
export interface DeliveryDescription {
  event: string | null;
  deliveryId: string | null;
  /** The value verify() checks (a signature header, or GitLab's token). */
  signature: string | null;
}

export interface VerifyContext {
  /** The raw body, exactly as received. */
  body: Buffer;
  headers: WebhookHeaders;
  /** The signature (or token) the delivery presents; null when it presents none. */
  signature: string | null;
  /** Every secret that may have signed it; never empty (no secret means refused before verify). */
  secrets: readonly string[];
  /** For timestamped schemes. */
  now: Date;
}

/**
 * The verdict on a delivery. `secret` is the configured secret that verified it: routing uses it
 * to tell a fraise's own secret from the provider's. `reason` is shown to the sender: it names
 * what was wrong and never contains a signature, a secret or an expected value.
 */
export type VerifyOutcome = { valid: true; secret: string } | { valid: false; reason: string };

export interface ParseContext {
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
  headers: WebhookHeaders;
  event: string | null;
  deliveryId: string | null;
  /** The body as JSON (a leading BOM and form encoding `payload=...` are handled). Throws PayloadSyntaxError. */
  json(): unknown;
}

/**
 * A Git provider. Built-ins: github, gitlab, gitea (also Forgejo and Gogs), bitbucket (Cloud
 * and Server). Register more with `registerGitProvider`.
 */
export interface GitProvider {
  /** Lower-case name; the route is `/webhook/<name>`. */
  name: string;
  /** Does this delivery (by its headers) come from this provider? Used when the URL names none. */
  detect(headers: WebhookHeaders): boolean;
  /** Event name, delivery id and signature from the headers. Optional for custom providers. */
  describe?(headers: WebhookHeaders): DeliveryDescription;
  /** Checks the signature over the raw body. Must not throw on malformed input. */
  verify(context: VerifyContext): VerifyOutcome;
  /** Reads a verified delivery. May throw PayloadSyntaxError (answered 400); other errors are recorded. */
  parse(context: ParseContext): ParsedEvent;
  /**
   * Secrets for this provider when the configuration has none under `git.<name>` (custom
   * providers only; the configuration can only name the built-in ones).
   */
  secrets?: readonly string[];
}

/** The body of a verified delivery is not JSON: answered 400, recorded as refused. */
export class PayloadSyntaxError extends Error {
  override readonly name = 'PayloadSyntaxError';
}
