/**
 * Backup codes, shown once: the list, copy, download as text, and "I saved these codes" before
 * the user may continue.
 */
import { copyText, downloadText, h } from './ui.ts';

export function renderBackupCodes(
  container: HTMLElement,
  codes: string[],
  options: { username: string; continueLabel: string; onContinue: () => void; announce: (message: string) => void },
): void {
  const list = h('ol', { class: 'codes', id: 'backup-codes', 'aria-label': 'Your backup codes' }, ...codes.map((code) => h('li', {}, h('code', {}, code))));
  const text = [
    `Latch backup codes for ${options.username}`,
    `Created ${new Date().toISOString().slice(0, 10)}. Each code works once.`,
    '',
    ...codes,
    '',
  ].join('\n');

  const copy = h('button', { type: 'button', class: 'button button-secondary' }, 'Copy codes');
  copy.addEventListener('click', async () => {
    const copied = await copyText(text, list);
    options.announce(copied ? 'Codes copied.' : 'Copying is blocked here: the codes are selected, so copy them with your keyboard.');
  });
  const download = h('button', { type: 'button', class: 'button button-secondary' }, 'Download as text');
  download.addEventListener('click', () => {
    downloadText(`latch-backup-codes-${options.username}.txt`, text);
    options.announce('Codes downloaded as a text file.');
  });

  const checkbox = h('input', { type: 'checkbox', id: 'codes-saved', class: 'checkbox' });
  const proceed = h('button', { type: 'button', class: 'button button-primary', id: 'codes-continue', disabled: true }, options.continueLabel);
  checkbox.addEventListener('change', () => {
    proceed.disabled = !checkbox.checked;
  });
  proceed.addEventListener('click', () => {
    if (checkbox.checked) options.onContinue();
  });

  container.replaceChildren(h('div', { class: 'stack' },
    h('p', {}, 'If you lose your phone, each code lets you sign in once. This is the only time we show them, so keep them somewhere safe, like your password manager.'),
    list,
    h('div', { class: 'button-row' }, copy, download),
    h('div', { class: 'check' }, checkbox, h('label', { for: 'codes-saved' }, 'I saved these codes')),
    proceed,
  ));
}
