// Settings stored in the database's config table, validated against src/domain/config.ts.
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import { SETTINGS, findSetting } from '../domain/config.js';
import { beginAudit, type WriteMeta } from './audit.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface SettingValue {
  key: string;
  value: string;
  isDefault: boolean;
  description: string;
}

/** Every setting with its effective value. */
export async function listSettings(db: Db): Promise<SettingValue[]> {
  const stored = new Map((await db.selectFrom('config').selectAll().execute()).map((r) => [r.key, r.value]));
  return SETTINGS.map((s) => ({
    key: s.key,
    value: stored.get(s.key) ?? s.default,
    isDefault: !stored.has(s.key),
    description: s.description,
  }));
}

/** The effective value of one setting (stored, else default). */
export async function getSetting(db: Db, key: string): Promise<string> {
  const setting = findSetting(key);
  const row = await db.selectFrom('config').select('value').where('key', '=', setting.key).executeTakeFirst();
  return row?.value ?? setting.default;
}

export async function setSetting(db: Kysely<DB>, key: string, value: string, meta: WriteMeta): Promise<SettingValue> {
  const setting = findSetting(key);
  const parsed = setting.parse(value);
  return db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('config').select('value').where('key', '=', setting.key).executeTakeFirst();
    await trx
      .insertInto('config')
      .values({ key: setting.key, value: parsed })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: parsed }))
      .execute();
    const audit = await beginAudit(trx, meta, { action: 'config.set', entity: 'config', summary: `${setting.key} = ${parsed}` });
    // config rows are keyed by text; the change is kept in before/after with the key inside.
    // A key stored for the first time is an insert, so undo removes the row again.
    if (before) await audit.updated('config', 0, { key: setting.key, value: before.value }, { key: setting.key, value: parsed });
    else await audit.inserted('config', 0, { key: setting.key, value: parsed });
    return { key: setting.key, value: parsed, isDefault: false, description: setting.description };
  });
}
