import { ScaffoldError } from './names.js';

/*
 * A job's cron schedule (five fields, as Fraisier's own scheduler reads it, in UTC) as a systemd
 * OnCalendar= expression. Cron runs a job when day-of-month OR day-of-week matches, systemd
 * when both do: a schedule restricting both cannot be said the same way and is refused.
 */

const NICKNAMES: Record<string, string> = {
  '@yearly': 'yearly',
  '@annually': 'yearly',
  '@monthly': 'monthly',
  '@weekly': 'weekly',
  '@daily': 'daily',
  '@midnight': 'daily',
  '@hourly': 'hourly',
};
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function cronToOnCalendar(schedule: string): string {
  const trimmed = schedule.trim();
  const nickname = NICKNAMES[trimmed.toLowerCase()];
  if (nickname) return `${nickname === 'hourly' ? '*-*-* *:00:00' : nickname === 'daily' ? '*-*-* 00:00:00' : nickname === 'weekly' ? 'Mon *-*-* 00:00:00' : nickname === 'monthly' ? '*-*-01 00:00:00' : '*-01-01 00:00:00'} UTC`;
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) throw new ScaffoldError(`schedule "${schedule}": expected five cron fields (minute hour day month weekday)`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (dom !== '*' && dow !== '*') {
    throw new ScaffoldError(`schedule "${schedule}": cron runs when the day of the month OR the weekday matches, a systemd timer when both do; write two jobs, or the timer yourself`);
  }
  if (dow.includes('/')) throw new ScaffoldError(`schedule "${schedule}": a weekday step has no systemd equivalent; list the days instead`);
  const weekday = dow === '*' ? '' : `${field(dow, 0, 7, schedule, (n) => DAYS[n]!)} `;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${weekday}*-${field(month, 1, 12, schedule, pad)}-${field(dom, 1, 31, schedule, pad)} ${field(hour, 0, 23, schedule, pad)}:${field(minute, 0, 59, schedule, pad)}:00 UTC`;
}

/** One cron field (`*`, `5`, `1-5`, `*\/15`, `0-30/10`, lists of these) in systemd's syntax. */
function field(value: string, min: number, max: number, schedule: string, show: (n: number) => string): string {
  if (value === '*') return '*';
  return value
    .split(',')
    .map((part) => {
      const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!match) throw new ScaffoldError(`schedule "${schedule}": cannot read "${part}" (numbers, ranges a-b, steps /n and lists only)`);
      const number = (text: string) => {
        const n = Number(text);
        if (n < min || n > max) throw new ScaffoldError(`schedule "${schedule}": ${n} is outside ${min}-${max}`);
        return n;
      };
      const step = match[4] ? `/${Number(match[4])}` : '';
      if (match[1] === '*') return step ? `${show(min)}${step}` : '*';
      const from = number(match[2]!);
      if (match[3] === undefined) {
        // "5/15" in cron is 5, 20, 35, 50: systemd reads a repetition the same way.
        return `${show(from)}${step}`;
      }
      const to = number(match[3]);
      if (step) throw new ScaffoldError(`schedule "${schedule}": a stepped range ("${part}") has no systemd equivalent; list the values instead`);
      return `${show(from)}..${show(to)}`;
    })
    .join(',');
}
