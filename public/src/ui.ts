/**
 * Small DOM helpers shared by the pages. No framework: elements are found by id, views are
 * sections toggled with `hidden`, and every message goes through an aria-live region.
 */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

type Child = Node | string | null | undefined | false;

/** `h('p', {class: 'hint'}, 'text', child)` — builds an element without innerHTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/**
 * Shows one view of a page (a `[data-view]` section) and hides the others, then moves focus to
 * the view's heading so keyboard and screen-reader users land where the content changed.
 */
export function showView(name: string, options: { focus?: boolean } = {}): void {
  for (const view of document.querySelectorAll<HTMLElement>('[data-view]')) {
    view.hidden = view.dataset.view !== name;
  }
  document.body.dataset.currentView = name;
  if (options.focus === false) return;
  const heading = document.querySelector<HTMLElement>(`[data-view="${name}"] h1, [data-view="${name}"] h2`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

/**
 * Where a form or panel says how things went. Errors are assertive (role=alert), status is polite
 * (role=status). An error about one field goes next to that field (`field`): the input is marked
 * `aria-invalid` and described by the message, so it is seen where the user looks and read out
 * when the field has focus.
 */
export interface Messages {
  error(message: string, field?: HTMLElement | null): void;
  status(message: string): void;
  clear(): void;
}

/** The message element under a field, made on first use; its id is `<input id>-error`. */
function fieldErrorElement(input: HTMLElement): HTMLElement {
  const id = `${input.id}-error`;
  const existing = document.getElementById(id);
  if (existing) return existing;
  const element = h('p', { id, class: 'field-error', role: 'alert', hidden: true });
  const field = input.closest('.field, .check');
  if (field) field.append(element);
  else input.after(element);
  // Typing again is the answer to the message: it goes.
  input.addEventListener('input', () => setFieldError(input, null));
  return element;
}

/** Puts `message` next to `input` (or takes it away with null), with aria-invalid and aria-describedby. */
export function setFieldError(input: HTMLElement, message: string | null): void {
  const id = `${input.id}-error`;
  const describedBy = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((part) => part && part !== id);
  if (message === null) {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = '';
      element.hidden = true;
    }
    input.removeAttribute('aria-invalid');
    if (describedBy.length > 0) input.setAttribute('aria-describedby', describedBy.join(' '));
    else input.removeAttribute('aria-describedby');
    return;
  }
  const element = fieldErrorElement(input);
  element.textContent = message;
  element.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', [id, ...describedBy].join(' '));
}

export function messagesIn(errorRegion: HTMLElement, statusRegion: HTMLElement): Messages {
  const fields = new Set<HTMLElement>();
  const clearFields = () => {
    for (const field of fields) setFieldError(field, null);
    fields.clear();
  };
  return {
    error(message, field) {
      statusRegion.textContent = '';
      clearFields();
      errorRegion.textContent = '';
      if (field) {
        errorRegion.hidden = true;
        fields.add(field);
        setFieldError(field, message);
        return;
      }
      // Cleared first (above) and filled a moment later, so a repeated message announces again.
      window.setTimeout(() => {
        errorRegion.textContent = message;
      }, 30);
      errorRegion.hidden = false;
    },
    status(message) {
      errorRegion.textContent = '';
      errorRegion.hidden = true;
      clearFields();
      statusRegion.textContent = message;
    },
    clear() {
      errorRegion.textContent = '';
      errorRegion.hidden = true;
      statusRegion.textContent = '';
      clearFields();
    },
  };
}

/** An error and a status region, empty, to place where a panel or form shows its results. */
export function messageRegions(prefix: string): { error: HTMLElement; status: HTMLElement; messages: Messages } {
  const error = h('p', { id: `${prefix}-error`, class: 'message message-error', role: 'alert', hidden: true });
  const status = h('p', { id: `${prefix}-status`, class: 'message message-status', role: 'status', 'aria-live': 'polite' });
  return { error, status, messages: messagesIn(error, status) };
}

/** The page-wide messages (`#error` and `#status` in every page): for what concerns the whole page. */
export function pageMessages(): Messages {
  return messagesIn(byId('error'), byId('status'));
}

/**
 * The messages of whichever view (`[data-view]` section) is showing: each view has its own
 * regions, just above its main button, so a result appears where the user just acted — on a
 * phone, not a screen's height above it. Falls back to the page-wide regions.
 */
export function viewMessages(): Messages {
  const page = pageMessages();
  const perView = new Map<string, Messages>();
  const current = (): Messages => {
    const section = document.querySelector<HTMLElement>('[data-view]:not([hidden])');
    const name = section?.dataset.view;
    if (!section || !name) return page;
    let messages = perView.get(name);
    if (!messages) {
      const regions = messageRegions(`${name}-view`);
      const anchor = section.querySelector('form button[type="submit"]');
      if (anchor) anchor.before(regions.error, regions.status);
      else section.querySelector('h1, h2')?.after(regions.error, regions.status);
      messages = regions.messages;
      perView.set(name, messages);
    }
    return messages;
  };
  const clearAll = () => {
    page.clear();
    for (const messages of perView.values()) messages.clear();
  };
  return {
    error(message, field) {
      clearAll();
      current().error(message, field);
    },
    status(message) {
      clearAll();
      current().status(message);
    },
    clear: clearAll,
  };
}

/**
 * Runs `work` with the button marked busy (disabled, aria-busy, a working label), so a double
 * click cannot start a second ceremony. Restores the button whatever happens.
 */
export async function withBusy<T>(button: HTMLButtonElement, busyLabel: string, work: () => Promise<T>): Promise<T> {
  // Kept as nodes: a label may carry visually hidden words (which session, which passkey).
  const label = Array.from(button.childNodes);
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = busyLabel;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.replaceChildren(...label);
    // A disabled button loses focus (and a dialog closed meanwhile could not give it back): when
    // focus fell to the page, it goes back to the button the user pressed, if still there.
    if (button.isConnected && !button.hidden && (document.activeElement === null || document.activeElement === document.body)) button.focus();
  }
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? 'unknown' : dateFormat.format(date);
}

export function formatDay(iso: string | null | undefined): string {
  if (!iso) return 'unknown';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? 'unknown' : dayFormat.format(date);
}

/** A time element for a timestamp, machine-readable and human-readable. */
export function timeElement(iso: string | null | undefined, format: (iso: string | null | undefined) => string = formatDateTime): HTMLElement {
  if (!iso) return h('span', {}, format(iso));
  return h('time', { datetime: iso }, format(iso));
}

/** "Chrome on macOS" from a user-agent string; good enough to recognise one's own devices. */
export function describeUserAgent(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown device';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /OPR\//.test(userAgent)
      ? 'Opera'
      : /Firefox\//.test(userAgent)
        ? 'Firefox'
        : /(Chrome|Chromium|HeadlessChrome)\//.test(userAgent)
          ? 'Chrome'
          : /Safari\//.test(userAgent)
            ? 'Safari'
            : 'A browser';
  const system = /iPhone|iPad|iPod/.test(userAgent)
    ? 'iOS'
    : /Android/.test(userAgent)
      ? 'Android'
      : /Mac OS X|Macintosh/.test(userAgent)
        ? 'macOS'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /CrOS/.test(userAgent)
            ? 'ChromeOS'
            : /Linux/.test(userAgent)
              ? 'Linux'
              : null;
  return system ? `${browser} on ${system}` : browser;
}

/** One message carried across a navigation (e.g. "You've signed out."), shown once. */
const FLASH_KEY = 'latch.flash';

export function setFlash(message: string): void {
  try {
    sessionStorage.setItem(FLASH_KEY, message);
  } catch {
    // storage may be unavailable; the message is a nicety
  }
}

export function takeFlash(): string | null {
  try {
    const message = sessionStorage.getItem(FLASH_KEY);
    sessionStorage.removeItem(FLASH_KEY);
    return message;
  } catch {
    return null;
  }
}

/** Copies text; falls back to selecting it so the user can copy by hand. Resolves to whether it copied. */
export async function copyText(text: string, fallbackSelect?: HTMLElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackSelect) {
      const range = document.createRange();
      range.selectNodeContents(fallbackSelect);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
    }
    return false;
  }
}

/** Offers `text` as a download named `filename` (a blob URL; no inline script, CSP-safe). */
export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = h('a', { href: url, download: filename, class: 'visually-hidden' });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Where to go after signing in: a same-origin path from `?next=`, else the account page.
 * Only a path on this site is accepted, never another origin (no open redirect).
 */
export function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next');
  // No scheme, no '//' or '/\' (protocol-relative), no whitespace or control characters that
  // browsers strip before parsing ("/\t/evil.example" would become "//evil.example").
  if (next && /^\/(?![/\\])[^\s\\\u0000-\u001f]*$/.test(next)) return next;
  return '/account';
}

/**
 * A labelled field for a 6-digit authenticator code: numeric keyboard on phones, one-time-code
 * autofill, spaces allowed (digitsOnly strips them).
 */
export function codeField(id: string, label: string, hint: string): { field: HTMLElement; input: HTMLInputElement } {
  const input = h('input', {
    id,
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9 ]*',
    maxlength: '7',
    required: true,
    class: 'input input-code',
    'aria-describedby': `${id}-hint`,
  });
  const field = h('div', { class: 'field' }, h('label', { for: id }, label), h('p', { class: 'hint', id: `${id}-hint` }, hint), input);
  return { field, input };
}

/** Digits only, so "123 456" or a pasted "123-456" still works. */
export function digitsOnly(value: string): string {
  return value.replace(/\D/g, '');
}
