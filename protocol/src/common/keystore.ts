import { Type } from '@sinclair/typebox';
import { helloOk, V2 } from './envelope.js';
import { KeystoreStatusRecord } from './records.js';
import { message, RequestId, Str, Uid, Username } from './schema-kit.js';

/**
 * Version 2 of the keystore socket (authd, sessiond, nx-home ↔ redbear-keystored; 0600 root).
 * keystored speaks no v1. Binding model and flows: docs/accounts/keystore-binding.md.
 *
 * No message ever carries the UMK, a KEK or a root key. Unlock secrets (Argon2id output of a
 * password or PIN, or the 256-bit recovery key) travel only inside libsodium sealed boxes to
 * keystored's per-start X25519 key, bound to a single-use challenge that keystored issued.
 */
export const KeystoreHelloOk = helloOk({}, 'Version 2 accepted.');

const b64 = (maxLength: number, minLength = 0) => Type.String({ minLength, maxLength, pattern: '^[A-Za-z0-9+/]*={0,2}$' });
const b64url = (minLength: number, maxLength: number) => Type.String({ minLength, maxLength, pattern: '^[A-Za-z0-9_-]+$' });
const hex = (len: number) => Type.String({ minLength: len, maxLength: len, pattern: '^[0-9a-f]*$' });

/** A libsodium sealed box (crypto_box_seal) of `RBK1 ‖ role ‖ challenge(32) ‖ secret(32)`: 117 bytes. */
export const Sealed = Type.String({ minLength: 156, maxLength: 156, pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'secret: sealed unlock secret' });
/** A single-use unlock grant (≤ 15 s). */
export const Grant = b64url(43, 43);
/** A session token: base64url(payload) "." base64url(HMAC-SHA-256). */
export const SessionToken = Type.String({ minLength: 16, maxLength: 512, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' });
export const SessionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:@-]+$' });
export const KeyGen = Type.Integer({ minimum: 1, maximum: 0xffffffff });
export const Epoch = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const Protector = Type.Union([Type.Literal('password'), Type.Literal('pin'), Type.Literal('recovery')]);
export const Scope = Type.Union([Type.Literal('home'), Type.Literal('sign'), Type.Literal('seal')]);
export const ChallengePurpose = Type.Union([
  Type.Literal('enroll'),
  Type.Literal('unlock'),
  Type.Literal('change_password'),
  Type.Literal('set_pin'),
  Type.Literal('reset'),
]);

/** Argon2id parameters the client must use to turn a password or PIN into its unlock secret. */
export const KdfParams = Type.Object(
  {
    alg: Type.Literal('argon2id'),
    salt: b64(24, 24),
    memory_kib: Type.Integer({ minimum: 1024, maximum: 4 * 1024 * 1024 }),
    time_cost: Type.Integer({ minimum: 1, maximum: 64 }),
    parallelism: Type.Integer({ minimum: 1, maximum: 16 }),
  },
  { additionalProperties: false },
);

export const GetChallenge = message(
  'get_challenge',
  { id: RequestId, uid: Uid, purpose: ChallengePurpose, protector: Type.Optional(Protector) },
  V2('request', 'A single-use challenge (≤ 30 s) for one keystore operation of one uid, with the KDF parameters the client needs.'),
);
export const ChallengeResult = message(
  'challenge',
  {
    id: RequestId,
    challenge: b64(44, 44),
    server_public_key: b64(44, 44),
    expires_in_ms: Type.Integer({ minimum: 0 }),
    kdf: Type.Union([KdfParams, Type.Null()]),
    new_password_kdf: Type.Union([KdfParams, Type.Null()]),
    new_pin_kdf: Type.Union([KdfParams, Type.Null()]),
  },
  V2(
    'reply',
    'kdf: parameters of the existing protector the operation proves (null for recovery and enroll); new_*_kdf: fresh parameters for a protector the operation creates.',
  ),
);

export const Enroll = message(
  'enroll',
  { id: RequestId, uid: Uid, username: Username, sealed: Sealed, sealed_pin: Type.Union([Sealed, Type.Null()]) },
  V2('request', "Create the user's keystore record: a random UMK wrapped by the password (and PIN) and a new recovery key."),
);
export const EnrollResult = message(
  'enroll_result',
  { id: RequestId, store_id: hex(32), recovery_key: Str(128) },
  V2('reply', 'The new record; recovery_key is returned exactly once.'),
);

export const Unlock = message(
  'unlock',
  { id: RequestId, uid: Uid, protector: Protector, sealed: Sealed },
  V2('request', "Unwrap the user's UMK with one protector; throttled per uid."),
);
export const UnlockResult = message(
  'unlock_result',
  { id: RequestId, grant: Grant, expires_in_ms: Type.Integer({ minimum: 0 }) },
  V2('reply', 'A single-use grant that opens (or resumes) one keystore session.'),
);

export const OpenSession = message(
  'open_session',
  { id: RequestId, grant: Grant, session_id: SessionId, scopes: Type.Optional(Type.Array(Scope, { minItems: 1, maxItems: 3, uniqueItems: true })) },
  V2('request', 'Redeem a grant for a session token (re-opening an existing locked session of the same uid unlocks it).'),
);
export const SessionOpened = message(
  'session_opened',
  { id: RequestId, token: SessionToken, expires_at_ms: Type.Integer({ minimum: 0 }), uid: Uid, store_id: hex(32), scopes: Type.Array(Scope, { maxItems: 3 }) },
  V2('reply', 'The session token (HMAC under a per-start key over uid, session id, scopes, expiry).'),
);
export const SessionInfo = message('session_info', { id: RequestId, token: SessionToken }, V2('request', 'Describe the session a token names.'));
export const SessionInfoResult = message(
  'session_info_result',
  { id: RequestId, uid: Uid, session_id: SessionId, store_id: hex(32), scopes: Type.Array(Scope, { maxItems: 3 }), expires_at_ms: Type.Integer({ minimum: 0 }), locked: Type.Boolean() },
  V2('reply', 'The session a token names.'),
);
export const CloseSession = message(
  'close_session',
  { id: RequestId, token: SessionToken },
  V2('request', 'End a session; the UMK is wiped when no unlocked session of the user remains.'),
);
export const LockSession = message(
  'lock_session',
  { id: RequestId, token: SessionToken },
  V2('request', 'Lock one session (screen lock); the UMK is wiped when no unlocked session of the user remains.'),
);
export const KeystoreLockUser = message(
  'lock_user',
  { id: RequestId, uid: Uid },
  V2('request', "Lock every session of the user and wipe the UMK and all derived keys; key requests then fail with keystore_locked."),
);

export const FileKey = message(
  'file_key',
  { id: RequestId, token: SessionToken, file_id: hex(32), key_gen: KeyGen },
  V2('request', 'file_key = HKDF(K_root[key_gen], salt = file_id, "SFS/v1/file-key") (scope home).'),
);
export const IndexKey = message('index_key', { id: RequestId, token: SessionToken }, V2('request', 'K_index of the user store (scope home).'));
export const KeyResult = message('key', { id: RequestId, key: b64(44, 44) }, V2('reply', 'A 32-byte derived key (never the UMK or a root key).'));

export const Checkpoint = message(
  'checkpoint',
  { id: RequestId, token: SessionToken, epoch: Epoch, index_hash: hex(64) },
  V2('request', 'Record the committed index epoch and hash (monotonic; a lower epoch fails with integrity).'),
);
export const LastCheckpoint = message('last_checkpoint', { id: RequestId, token: SessionToken }, V2('request', 'The last recorded index checkpoint.'));
export const CheckpointResult = message(
  'checkpoint_result',
  { id: RequestId, epoch: Type.Union([Epoch, Type.Null()]), index_hash: Type.Union([hex(64), Type.Null()]) },
  V2('reply', 'The last checkpoint (both null when none was ever recorded).'),
);

export const Sign = message(
  'sign',
  { id: RequestId, token: SessionToken, data: b64(5464) },
  V2('request', "Sign up to 4 KiB with the user's Ed25519 key (scope sign)."),
);
export const SignResult = message('signature', { id: RequestId, signature: b64(88, 88), public_key: b64(44, 44) }, V2('reply', 'Ed25519 signature and public key.'));
export const Verify = message(
  'verify',
  { id: RequestId, uid: Uid, data: b64(5464), signature: b64(88, 88) },
  V2('request', "Check a signature against the user's public key (works while locked)."),
);
export const VerifyResult = message('verify_result', { id: RequestId, valid: Type.Boolean() }, V2('reply', 'Whether the signature is valid.'));
export const Seal = message(
  'seal',
  { id: RequestId, token: SessionToken, data: b64(5464) },
  V2('request', 'Encrypt up to 4 KiB under a key derived from the UMK, bound to the uid and store (scope seal).'),
);
export const SealResult = message('sealed', { id: RequestId, blob: b64(5600) }, V2('reply', 'The sealed blob.'));
export const Unseal = message('unseal', { id: RequestId, token: SessionToken, blob: b64(5600) }, V2('request', 'Decrypt a blob made by seal for the same user (scope seal).'));
export const UnsealResult = message('unsealed', { id: RequestId, data: b64(5464) }, V2('reply', 'The plaintext.'));

export const Rewrap = message(
  'rewrap',
  { id: RequestId, uid: Uid, old_sealed: Sealed, new_sealed: Sealed },
  V2('request', 'Password change: prove the old password, wrap the same UMK under the new one (no data is re-encrypted).'),
);
export const KeystoreSetPin = message(
  'set_pin',
  { id: RequestId, uid: Uid, sealed: Sealed, pin_sealed: Type.Union([Sealed, Type.Null()]) },
  V2('request', 'Prove the password, then add or replace (pin_sealed) or remove (null) the PIN protector.'),
);
export const ResetWithRecovery = message(
  'reset_with_recovery',
  { id: RequestId, uid: Uid, recovery_sealed: Sealed, new_sealed: Sealed },
  V2('request', 'Prove the recovery key, set a new password protector, drop the PIN, clear the throttle.'),
);
export const Destroy = message(
  'destroy',
  { id: RequestId, uid: Uid },
  V2('request', "Crypto-shred: wipe the user's keys and delete the record; the home becomes unrecoverable."),
);
export const Status = message('status', { id: RequestId, uid: Uid }, V2('request', "The user's keystore domain (no key material)."));
export const StatusResult = message('status_result', { id: RequestId, status: KeystoreStatusRecord }, V2('reply', 'A KeystoreStatusRecord.'));

/** Every v2 message of the keystore socket besides the shared envelope. */
export const KEYSTORE_V2_MESSAGES = [
  KeystoreHelloOk,
  GetChallenge,
  ChallengeResult,
  Enroll,
  EnrollResult,
  Unlock,
  UnlockResult,
  OpenSession,
  SessionOpened,
  SessionInfo,
  SessionInfoResult,
  CloseSession,
  LockSession,
  KeystoreLockUser,
  FileKey,
  IndexKey,
  KeyResult,
  Checkpoint,
  LastCheckpoint,
  CheckpointResult,
  Sign,
  SignResult,
  Verify,
  VerifyResult,
  Seal,
  SealResult,
  Unseal,
  UnsealResult,
  Rewrap,
  KeystoreSetPin,
  ResetWithRecovery,
  Destroy,
  Status,
  StatusResult,
];
