/**
 * Why a directory is not private to this process's user, or undefined when it is: another user
 * (root aside) owns it, or group or others may write to it. Whoever may write to the agent's
 * state dir or its alts/ may plant a credential, a key or code of their own (as ssh's StrictModes
 * reasons). One rule for the agent (state-dir.ts) and the launcher, which stays free of imports.
 */
export function unsafeDirReason(info: { uid: number; mode: number }, uid: number | undefined = process.getuid?.()): string | undefined {
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) return `it is owned by uid ${info.uid}, not by this agent's (uid ${uid})`;
  if ((info.mode & 0o022) !== 0) return `group or others may write to it (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}
