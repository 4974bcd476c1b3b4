import { can } from '../auth/principal.js';
import { isListed } from '../gates/approvals.js';
import { isValidTimeZone } from '../gates/zone-clock.js';
import type { PathSegment } from './problems.js';
import { type RawConfig, type RawProtection, toSeconds } from './raw-schema.js';
import type { DeployWindow, EnvironmentConfig, FraiseConfig, FreezePeriod, ProtectionConfig, TokenConfig } from './types.js';
import { suggest } from './validate.js';

/*
 * `protection:` blocks: an environment's own, or the top-level environments.<name>'s, which
 * applies to every fraise's environment of that name that has none of its own (an own block
 * replaces it whole; `protection: {}` turns it off). What one block says alone is checked here
 * once; what depends on the fraise (promotion's source) and on the tokens (enough approvers) is
 * checked per environment, after both are known.
 */

export type Problem = (severity: 'error' | 'warning', path: PathSegment[], message: string, key?: string) => void;

export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 24 * 3600;

const DAY_NAMES: Record<string, number> = {
  mon: 1, monday: 1,
  tue: 2, tues: 2, tuesday: 2,
  wed: 3, wednesday: 3,
  thu: 4, thur: 4, thurs: 4, thursday: 4,
  fri: 5, friday: 5,
  sat: 6, saturday: 6,
  sun: 7, sunday: 7,
};

/**
 * ISO weekdays (1 = Monday) from `mon-fri`, `sat,sun`, `[mon, wed]`, `daily` or `*`; a range
 * may wrap past Sunday (`fri-mon`). A string saying what is wrong when it does not parse.
 */
export function parseDays(value: string | readonly string[]): number[] | string {
  const items = (typeof value === 'string' ? [value] : value).flatMap((item) => item.split(','));
  const days = new Set<number>();
  for (const raw of items) {
    const item = raw.trim().toLowerCase();
    if (item === 'daily' || item === '*') {
      for (let day = 1; day <= 7; day++) days.add(day);
      continue;
    }
    const [first, last, extra] = item.split('-').map((part) => part.trim());
    const from = DAY_NAMES[first ?? ''];
    const to = last === undefined ? from : DAY_NAMES[last];
    if (extra !== undefined || from === undefined || to === undefined) {
      const wrong = extra !== undefined || from === undefined ? first : last;
      const hint = wrong ? suggest(wrong, Object.keys(DAY_NAMES)) : undefined;
      return `"${raw.trim()}" is not a day or a range of days${hint ? `; did you mean "${hint}"?` : ''} (mon, tue, wed, thu, fri, sat, sun; mon-fri; daily)`;
    }
    for (let day = from; ; day = (day % 7) + 1) {
      days.add(day);
      if (day === to) break;
    }
  }
  if (days.size === 0) return 'names no day';
  return [...days].sort((a, b) => a - b);
}

/** "9:00" → "09:00" */
function padTime(time: string): string {
  return time.length === 4 ? `0${time}` : time;
}

/** An instant with its offset (or a date: midnight UTC), as an ISO string in UTC; undefined when it is neither. */
export function parseInstant(value: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00'] = match;
  // Date.parse rolls 2026-02-30 over to March and reads 24:00: what does not exist is refused instead.
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  const instant = Date.parse(match[4] === undefined ? `${year}-${month}-${day}T00:00:00Z` : value.trim().replace(' ', 'T'));
  return Number.isNaN(instant) ? undefined : new Date(instant).toISOString();
}

/** One block, checked on its own. undefined when there is none. */
export function normalizeProtection(raw: RawProtection | undefined, path: PathSegment[], report: Problem): ProtectionConfig | undefined {
  if (!raw) return undefined;
  const protection: ProtectionConfig = {
    windows: [],
    onOutside: raw.on_outside ?? 'wait',
    freezes: [],
    onPromotionMissing: raw.promotion?.on_missing ?? 'wait',
  };
  if (raw.approvals) {
    const approvals = raw.approvals;
    const timeoutSeconds = approvals.timeout !== undefined ? toSeconds(approvals.timeout) : DEFAULT_APPROVAL_TIMEOUT_SECONDS;
    if (timeoutSeconds <= 0) report('error', [...path, 'approvals'], 'must be longer than 0 (default 24h): a deployment waits this long for its approvals', 'timeout');
    protection.approvals = {
      required: approvals.required ?? 1,
      approvers: [...new Set(approvals.approvers ?? [])],
      selfApproval: approvals.self_approval ?? false,
      timeoutSeconds,
      carryApprovals: approvals.carry_approvals ?? false,
    };
  }
  (raw.windows ?? []).forEach((window, index) => {
    const at = [...path, 'windows', index];
    const days = parseDays(window.days);
    if (typeof days === 'string') return report('error', at, days, 'days');
    const timezone = window.timezone ?? 'UTC';
    if (!isValidTimeZone(timezone)) {
      const hint = suggest(timezone, Intl.supportedValuesOf('timeZone'));
      return report('error', at, `unknown time zone "${timezone}"${hint ? `; did you mean "${hint}"?` : ' (an IANA name such as Europe/Paris, or UTC)'}`, 'timezone');
    }
    const parsed: DeployWindow = { days, from: padTime(window.from), to: padTime(window.to), timezone };
    if (parsed.from === parsed.to) return report('error', at, `is the same as from: for a whole day write from: "00:00", to: "24:00"`, 'to');
    protection.windows.push(parsed);
  });
  if (raw.on_outside !== undefined && !raw.windows?.length) report('warning', path, 'applies to windows, and there are none', 'on_outside');
  (raw.freeze ?? []).forEach((freeze, index) => {
    const at = [...path, 'freeze', index];
    const from = parseInstant(freeze.from);
    const to = parseInstant(freeze.to);
    const bad = 'expected an instant with its offset, such as 2026-12-20T00:00:00+01:00, or a date such as 2026-12-20 (midnight UTC)';
    if (!from) report('error', at, `${bad}, got "${freeze.from}"`, 'from');
    if (!to) report('error', at, `${bad}, got "${freeze.to}"`, 'to');
    if (!from || !to) return;
    if (Date.parse(from) >= Date.parse(to)) return report('error', at, `must be after from (${from})`, 'to');
    const period: FreezePeriod = { from, to, reason: freeze.reason?.trim() ?? '' };
    protection.freezes.push(period);
  });
  if (raw.promotion) protection.promotion = { from: raw.promotion.from, soakSeconds: raw.promotion.soak !== undefined ? toSeconds(raw.promotion.soak) : 0 };
  if (raw.wait_timer !== undefined) protection.waitTimerSeconds = toSeconds(raw.wait_timer);
  return protection;
}

/** Whether a block holds any gate at all (`protection: {}` turns an inherited one off). */
export function hasGates(protection: ProtectionConfig): boolean {
  return Boolean(protection.approvals || protection.windows.length || protection.freezes.length || protection.promotion || protection.waitTimerSeconds !== undefined);
}

/** The top-level environments.<name>.protection blocks, each checked once. */
export function normalizeSharedProtection(raw: RawConfig, report: Problem): Record<string, ProtectionConfig> {
  const shared: Record<string, ProtectionConfig> = {};
  for (const [name, env] of Object.entries(raw.environments ?? {})) {
    const protection = normalizeProtection(env.protection, ['environments', name, 'protection'], report);
    if (protection) shared[name] = protection;
  }
  return shared;
}

/** Where an environment's protection was written: its own block, or the top-level one for its name. */
export function protectionPath(raw: RawConfig, fraise: string, environment: string): PathSegment[] {
  return raw.fraises[fraise]?.environments[environment]?.protection
    ? ['fraises', fraise, 'environments', environment, 'protection']
    : ['environments', environment, 'protection'];
}

/** Promotion names another environment of the same fraise, and no chain of them loops. */
export function checkPromotions(fraise: FraiseConfig, raw: RawConfig, report: Problem): void {
  const names = fraise.environments.map((e) => e.name);
  for (const env of fraise.environments) {
    const source = env.protection?.promotion?.from;
    if (source === undefined) continue;
    const at = [...protectionPath(raw, fraise.name, env.name), 'promotion'];
    const inherited = at[0] === 'environments' ? ` (for ${fraise.name}/${env.name}; give it a protection block of its own to differ)` : '';
    if (source === env.name) report('error', at, `promotes ${env.name} from itself: name the environment a commit must pass first, e.g. staging${inherited}`, 'from');
    else if (!names.includes(source)) {
      const hint = suggest(source, names);
      report('error', at, `fraise "${fraise.name}" has no environment "${source}"${hint ? `; did you mean "${hint}"?` : ` (it has ${names.join(', ')})`}${inherited}`, 'from');
    }
  }
  // staging from production and production from staging: neither could ever deploy.
  const sourceOf = new Map(fraise.environments.map((e) => [e.name, e.protection?.promotion?.from]));
  for (const start of names) {
    const trail = [start];
    let next = sourceOf.get(start);
    while (next !== undefined && next !== start && sourceOf.has(next) && !trail.includes(next)) {
      trail.push(next);
      next = sourceOf.get(next);
    }
    // Said once, at the cycle's first environment by name.
    if (next === start && trail.length > 1 && start === [...trail].sort()[0]) {
      report('error', [...protectionPath(raw, fraise.name, start), 'promotion'], `promotion forms a cycle, so none of them could ever deploy: ${[...trail, start].join(' ← ')}`, 'from');
    }
  }
}

/**
 * Enough tokens may approve each environment with an approvals gate: tokens with the approve
 * scope (admin has it) reaching the environment, named in approvers or in one of its groups.
 */
export function checkApprovers(fraises: readonly FraiseConfig[], tokens: readonly TokenConfig[], raw: RawConfig, report: Problem): void {
  const known = new Set(tokens.flatMap((t) => [t.name, ...(t.groups ?? [])]));
  for (const fraise of fraises) {
    for (const env of fraise.environments) {
      const rule = env.protection?.approvals;
      if (!rule) continue;
      const at = [...protectionPath(raw, fraise.name, env.name), 'approvals'];
      if (tokens.length === 0) {
        if (rule.required > 1) report('warning', at, `with no tokens the API is open and every approval is by "local": ${rule.required} distinct approvers can never be reached; configure fraisier.tokens`, 'required');
        continue;
      }
      for (const name of rule.approvers) {
        if (!known.has(name)) report('warning', at, `"${name}" is neither a token nor a token group${hintFor(name, [...known])}`, 'approvers');
      }
      const eligible = tokens.filter((token) => can({ kind: 'token', token }, 'approve', fraise.name, env.name) && isListed(rule.approvers, token)).map((t) => t.name);
      if (eligible.length < rule.required) {
        report(
          'error',
          at,
          `needs ${rule.required} distinct approvers, and only ${eligible.length} token${eligible.length === 1 ? '' : 's'} may approve ${fraise.name}/${env.name}${eligible.length ? ` (${eligible.join(', ')})` : ''}: an approver is a token with the approve scope reaching the environment${rule.approvers.length ? ', named in approvers or in one of its groups' : ''}`,
          'required',
        );
      }
    }
  }
}

function hintFor(name: string, known: string[]): string {
  const hint = suggest(name, known);
  return hint ? `; did you mean "${hint}"?` : '';
}

/** The environment's rules: its own block, else the top-level one for its name; none when they hold no gate. */
export function protectionOf(own: ProtectionConfig | undefined, shared: ProtectionConfig | undefined): EnvironmentConfig['protection'] {
  const protection = own ?? shared;
  return protection && hasGates(protection) ? protection : undefined;
}
