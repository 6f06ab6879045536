import { constants } from 'node:os';
import { isSecureFsError } from '../securefs/index.js';

const E = constants.errno;

/** An errno to hand back to the kernel (negative, as FUSE expects). */
export class FsErrno extends Error {
  constructor(
    readonly errno: number,
    message = `errno ${errno}`,
  ) {
    super(message);
    this.name = 'FsErrno';
  }
}

export const err = (code: keyof typeof E, message?: string): FsErrno => new FsErrno(E[code], message ?? code);

/** Whether an error is an integrity/rollback failure (logged loudly, EIO to the caller). */
export function isIntegrityError(e: unknown): boolean {
  return isSecureFsError(e) && (e.code === 'integrity' || e.code === 'rollback' || e.code === 'unsupported_version');
}

/** Map any error to a positive errno. */
export function toErrno(e: unknown): number {
  if (e instanceof FsErrno) return e.errno;
  if (isSecureFsError(e)) {
    switch (e.code) {
      case 'not_found':
        return E.ENOENT;
      case 'exists':
        return E.EEXIST;
      case 'not_dir':
        return E.ENOTDIR;
      case 'is_dir':
        return E.EISDIR;
      case 'is_symlink':
        return E.ELOOP; // what open(O_NOFOLLOW) gives for a link: the store never follows one
      case 'not_empty':
        return E.ENOTEMPTY;
      case 'invalid_path':
        return /longer than 255/.test(e.message) ? E.ENAMETOOLONG : E.EINVAL;
      case 'invalid_argument':
        return E.EINVAL;
      case 'locked':
      case 'closed':
        return E.EACCES;
      default:
        return E.EIO; // integrity, rollback, unsupported_version, not_persistent, io
    }
  }
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && code in E) return E[code as keyof typeof E];
  return E.EIO;
}
