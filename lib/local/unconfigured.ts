/**
 * The local server answers 401, not the function's 500, while no webhook secret is set: on a
 * laptop that is the first-run state, not a fault, and the answer says how to leave it.
 * Nothing is verified or run in that state; every delivery is refused.
 */
import { WebhookCodes } from '../github/index.ts';
import { jsonResponse, mapResponses, type HttpHandler } from '../http/types.ts';

/** A streaming handler stays one (it refuses before reading the body). */
export function refuseWithoutSecret<H extends HttpHandler>(handler: H, setCommand: string): H {
  return mapResponses(handler, (response) => {
    if (response.status !== 500 || codeOf(response.body) !== WebhookCodes.noSecret) return response;
    return jsonResponse(401, {
      ok: false,
      code: WebhookCodes.noSecret,
      message: `no webhook secret is set, so no delivery can be verified and every one is refused: run \`${setCommand}\` and give GitHub's webhook the same secret`,
    });
  });
}

function codeOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { code?: unknown }).code;
  } catch {
    return undefined;
  }
}
