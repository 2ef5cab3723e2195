import { createClient, deleteClient, listClients, type ClientInput, type ClientSummary } from '../../oidc/clients.ts';
import type { AuthDeps, Requester } from '../requester.ts';
import { asAdmin } from './admin-requester.ts';

/** OpenID Connect clients as admin flows: a fresh passkey proof first, the change and its audit row in one transaction. */

export function listClientsAsAdmin(deps: AuthDeps, requester: Requester): Promise<ClientSummary[]> {
  return asAdmin(deps, requester, 'admin.read', (trx) => listClients(trx));
}

export function createClientAsAdmin(deps: AuthDeps, requester: Requester, input: ClientInput) {
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => createClient(trx, deps.keyring, requester, actor, input));
}

export function deleteClientAsAdmin(deps: AuthDeps, requester: Requester, input: { clientId: string }): Promise<void> {
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => deleteClient(trx, requester, actor, input.clientId));
}
