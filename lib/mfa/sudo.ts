import type { Principal } from '../auth';
import type { Deps } from '../deps';
import { AuthError } from '../errors';
import { SESSION_FIELDS, USER_FIELDS } from '../store/schema';
import { readHashFields } from '../store/redis';

/**
 * Sudo mode (SPEC): a user with TOTP on changes security settings only from a session of aal 2
 * whose last second factor is at most STEP_UP_MAX_AGE_SECONDS old; else `step_up_required`.
 * One store request (the session's assurance and the user's TOTP state, pipelined).
 */
export async function requireSudo(deps: Deps, principal: Principal): Promise<void> {
  const [[aal, at], [totp]] = await Promise.all([
    readHashFields(deps.pipelinedRedis, deps.keys.session(principal.userId, principal.sessionId), [SESSION_FIELDS.aal, SESSION_FIELDS.secondFactorAt]),
    readHashFields(deps.pipelinedRedis, deps.keys.user(principal.userId), [USER_FIELDS.totpSecret]),
  ]);
  if (!totp) return;
  if (aal !== '2' || deps.clock.now() - Number(at ?? 0) > deps.config.stepUpMaxAgeSeconds * 1000) throw new AuthError('step_up_required');
}

