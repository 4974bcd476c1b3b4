import { exactTime, relativeTime, shortVersion } from './format.js';

/*
 * Building the page without innerHTML: every value from the API (commit messages, branch
 * names, authors, log lines) becomes a text node, so markup in it is shown, never parsed.
 */

const BOOLEAN_ATTRIBUTES = new Set(['disabled', 'hidden', 'checked', 'required', 'open', 'selected', 'readonly']);

/**
 * h('a', { href: '#/x', class: 'link' }, 'text', child, [more, children])
 * Attributes are set with setAttribute (never event handlers: pass `on: { click: fn }`);
 * children are nodes, or anything else turned into a text node (null/undefined/false skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (name.startsWith('on')) {
      throw new Error(`h(): use { on: { ${name.slice(2)}: fn } }, not ${name}`);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (BOOLEAN_ATTRIBUTES.has(name)) {
      if (value) element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (nested arrays flattened; non-nodes become text). */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** Shorthand for document.getElementById that fails loudly when the page is not what we think. */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no #${id} in the page`);
  return element;
}

/** A <time> showing "5 min ago", the exact time in its title; kept current by refreshTimes(). */
export function timeAgo(iso, now = Date.now()) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  return h('time', { datetime: iso, title: exactTime(iso), dataset: { relative: '' } }, relativeTime(iso, now));
}

/** Updates every timeAgo() element in `root`. */
export function refreshTimes(root = document, now = Date.now()) {
  for (const element of root.querySelectorAll('time[data-relative]')) element.textContent = relativeTime(element.getAttribute('datetime'), now);
}

/**
 * A status badge: colour AND text (the enum value as the API spells it), for deployments
 * (SUCCESS, ROLLED_BACK, ...), environments (HEALTHY, DOWN, ...) and webhook outcomes.
 */
export function badge(status, kind = 'status') {
  const value = String(status ?? 'UNKNOWN');
  return h('span', { class: `badge ${kind}-${value.toLowerCase().replace(/[^a-z0-9]+/g, '-')}` }, value);
}

/** Text only screen readers read (context for a short visible label). */
export function hidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

/** A version in <code>, shortened, the full value in its title. */
export function version(value) {
  if (!value) return h('span', { class: 'muted' }, '—');
  const short = shortVersion(value);
  return h('code', { title: short === value ? undefined : value, class: 'version' }, short);
}

/**
 * Re-renders `container` with `render()` and puts the keyboard focus back on the element with
 * the same data-focus-key, so a live update never throws a keyboard user out of the list.
 */
export function rerender(container, render) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focusKey : undefined;
  render();
  if (key) container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

/** Shows an error in `box` (for createLoader). */
export function errorIn(box, describeError) {
  return (error) => fill(box, h('p', { class: 'error' }, describeError(error)));
}

/**
 * Loads what a view shows: `run(fetch, show)` shows the answer, or hands the error to
 * `showError`. Only the newest run is shown (an older answer arriving after a newer one, say
 * after the filters changed, is dropped), and nothing once the view is disposed.
 */
export function createLoader(showError) {
  let generation = 0;
  let disposed = false;
  return {
    async run(fetch, show) {
      const mine = ++generation;
      const current = () => !disposed && mine === generation;
      try {
        const data = await fetch();
        if (current()) show(data);
      } catch (error) {
        if (current()) showError(error);
      }
    },
    dispose() {
      disposed = true;
    },
  };
}
