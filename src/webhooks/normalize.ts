import { parseRef } from '../git/refs.js';
import type { EventKind, NormalizedEvent, ParsedEvent, RefUpdate, RepositoryInfo } from './provider.js';

/*
 * The parse result completed (provider, event type, delivery id, branch or tag) and checked:
 * a custom provider is user code, so every field is read for its type rather than trusted.
 */

const KINDS: ReadonlySet<EventKind> = new Set(['push', 'tag_push', 'branch_delete', 'tag_delete', 'ping', 'pull_request', 'other']);

export function normalizeEvent(
  parsed: ParsedEvent,
  meta: { provider: string; event: string | null; deliveryId: string | null },
): NormalizedEvent {
  const update = refUpdate(parsed);
  const { branch, tag } = update.ref ? parseRef(update.ref) : {};
  // Built property by property: object spreads cost microseconds per delivery here.
  const event: NormalizedEvent = {
    kind: update.kind,
    ref: update.ref,
    after: update.after,
    before: update.before,
    commitMessage: update.commitMessage,
    commitAuthor: update.commitAuthor,
    provider: meta.provider,
    eventType: meta.event ?? text(parsed.eventType) ?? 'unknown',
    deliveryId: meta.deliveryId,
    branch: branch ?? null,
    tag: tag ?? null,
    repository: repository(parsed.repository),
    sender: text(parsed.sender),
  };
  const note = text(parsed.note);
  if (note) event.note = note;
  const also = Array.isArray(parsed.also) ? parsed.also.map(refUpdate) : [];
  if (also.length) event.also = also;
  return event;
}

function refUpdate(value: RefUpdate): RefUpdate {
  return {
    kind: KINDS.has(value?.kind) ? value.kind : 'other',
    ref: text(value?.ref),
    after: text(value?.after),
    before: text(value?.before),
    commitMessage: text(value?.commitMessage),
    commitAuthor: text(value?.commitAuthor),
  };
}

function repository(value: RepositoryInfo | null | undefined): RepositoryInfo | null {
  if (!value || typeof value !== 'object') return null;
  return {
    fullName: text(value.fullName),
    urls: Array.isArray(value.urls) ? value.urls.filter((u): u is string => typeof u === 'string' && u !== '') : [],
  };
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
