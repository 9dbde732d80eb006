// The save-time half of the callback target policy (@smsgw/sms callback-target.ts): a status or MO
// URL whose host is, or resolves to, an internal address is refused when the CLI or the portal
// saves it. The callback worker checks again at every connect, so this is about telling the
// operator at once, not the only guard.
import { ALLOW_PRIVATE_TARGETS_ENV, CallbackTargetRefused, checkCallbackUrl, isSmppCallbackTarget, privateTargetsAllowed, type Resolver } from '@smsgw/sms';
import { SettingError } from './partner-settings';

const URL_FIELDS = [
  { field: 'statusUrl', name: 'status URL' },
  { field: 'moUrl', name: 'MO URL' },
] as const;

export interface CallbackTargetCheck {
  /** CALLBACK_ALLOW_PRIVATE_TARGETS; undefined: read from this process's environment. */
  allowPrivate?: boolean;
  /** Tests give their own; default: the system resolver (as the worker uses). */
  resolve?: Resolver;
}

/**
 * Checks the status and MO URLs among parsed settings (null clears one: nothing to check).
 * Throws a SettingError naming the field when a host is refused or cannot be resolved: a name
 * that does not resolve now cannot be checked, and would fail at delivery anyway, so it is
 * refused too (with a hint to retry, should DNS be what failed).
 */
export async function checkCallbackTargets(settings: Record<string, unknown>, opts: CallbackTargetCheck = {}): Promise<void> {
  const present = URL_FIELDS.filter((f) => typeof settings[f.field] === 'string' && !isSmppCallbackTarget(settings[f.field] as string));
  if (present.length === 0) return;
  let allow = opts.allowPrivate;
  if (allow === undefined) {
    try {
      allow = privateTargetsAllowed();
    } catch (e) {
      throw new SettingError((e as Error).message);
    }
  }
  if (allow) return;
  for (const { field, name } of present) {
    const url = settings[field] as string;
    try {
      await checkCallbackUrl(url, opts.resolve);
    } catch (e) {
      if (e instanceof CallbackTargetRefused) throw new SettingError(`the ${name} "${url}" is refused: ${e.message}`, field);
      const code = (e as { code?: string }).code;
      throw new SettingError(
        `the ${name} "${url}" is refused: its host could not be resolved${code ? ` (${code})` : ''}, so it cannot be checked ` +
          `(callbacks go to public addresses only, ${ALLOW_PRIVATE_TARGETS_ENV} is off); check the name, or retry if DNS was down`,
        field,
      );
    }
  }
}
