/** A modal "are you sure?" for actions that cannot be undone. Resolves true when confirmed. */
import { h } from './ui.ts';

export function confirmAction(options: { title: string; body: string; confirmLabel: string; danger?: boolean }): Promise<boolean> {
  const returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-body' });
  const confirm = h('button', { type: 'button', class: options.danger ? 'button button-danger' : 'button button-primary', id: 'confirm-yes' }, options.confirmLabel);
  const cancel = h('button', { type: 'button', class: 'button button-quiet' }, 'Cancel');
  dialog.append(
    h('h2', { id: 'confirm-title', class: 'dialog-title' }, options.title),
    h('p', { id: 'confirm-body' }, options.body),
    h('div', { class: 'dialog-actions' }, cancel, confirm),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    const finish = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      returnFocus?.focus();
      resolve(answer);
    };
    confirm.addEventListener('click', () => finish(true));
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    dialog.showModal();
    // Safe default: the focus starts on Cancel for destructive actions.
    (options.danger ? cancel : confirm).focus();
  });
}
