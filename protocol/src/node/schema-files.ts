import type { TSchema } from '@sinclair/typebox';
import { INTERFACES, metaOf, type MessageSet } from '../common/registry.js';
import { RECORDS } from '../common/records.js';

/** Strip TypeBox's symbol keys by a JSON round trip, keeping our `x-redbear` metadata. */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

function setDoc(title: string, id: string, set: MessageSet): object {
  const defs: Record<string, unknown> = {};
  const refs = (kind: string, map: ReadonlyMap<string, TSchema>, prefix: string) =>
    [...map.entries()].map(([key, schema]) => {
      const name = `${prefix}${key}`;
      defs[name] = { ...(plain(schema) as object), 'x-redbear': metaOf(schema as never) };
      return { $ref: `#/$defs/${name}`, 'x-kind': kind };
    });
  const requests = refs('request', set.requests, 'request.');
  const replies = refs('reply', set.replies, 'reply.');
  const events = refs('event', set.events, 'event.');
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: id,
    title,
    description: 'Generated from protocol/src/common by `npm run schemas`; do not edit.',
    oneOf: [...requests, ...replies, ...events].map(({ $ref }) => ({ $ref })),
    $defs: defs,
  };
}

/** file name → file text, for every interface and version plus the TASK-0224 records. */
export function renderSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const iface of Object.values(INTERFACES)) {
    for (const [v, set] of Object.entries(iface.versions)) {
      const name = `${iface.name}.v${v}.schema.json`;
      const doc = setDoc(`redbear ${iface.name} protocol v${v} (${iface.socket})`, `https://redbear.invalid/schemas/${name}`, set!);
      out[name] = JSON.stringify(doc, null, 2) + '\n';
    }
  }
  const records: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(RECORDS)) records[k] = plain(s);
  out['accounts_v1_2.schema.json'] =
    JSON.stringify(
      {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'https://redbear.invalid/schemas/accounts_v1_2.schema.json',
        title: 'TASK-0224 accounts/identity v1.2 records',
        description: 'Generated from protocol/src/common/records.ts by `npm run schemas`; do not edit.',
        $defs: records,
      },
      null,
      2,
    ) + '\n';
  return out;
}
