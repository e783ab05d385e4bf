import { createMailer } from '../lib/mail/mailer';
import { register } from '../lib/auth';
import { httpHandler, json, requireObject, requireString } from './http';

/** POST /auth/register `{email, password}` → 201 `{user:{id,email,emailVerified,createdAt}}`; a verification link is mailed. */
export const handler = httpHandler<unknown>({ body: 'required', needs: { store: true, mail: true }, createMailer }, async ({ body, deps, context }) => {
  const input = requireObject(body);
  const user = await register(
    deps,
    { email: requireString(input, 'email'), password: requireString(input, 'password') },
    context,
  );
  return json(201, { user });
});
