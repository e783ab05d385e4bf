import type { Aal } from '../client/src/contract';

/** The caller as the authorizer established it. */
export interface Principal {
  userId: string;
  sessionId: string;
  /** From the access token (the authorizer's context); absent where only the ids matter. */
  aal?: Aal;
  amr?: string[];
}

