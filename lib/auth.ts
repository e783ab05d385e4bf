/**
 * The service's flows, one module each (lib/flows/), gathered for the handlers and the tests:
 * the one place to import a flow from. The account lifecycle is in lib/account/, MFA in
 * lib/mfa/.
 */
export { authorize } from './flows/authorize';
export { login, type LoginInput } from './flows/login';
export { register } from './flows/register';
export { listMySessions, logout, logoutAll, me, refresh, revokeMySession } from './flows/sessions';
export type { Principal } from './principal';
export { issueTokens, type TokenResponse } from './tokens/token-response';
