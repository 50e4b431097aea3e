import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * Narrows a newest-first list (ordered by `created_at DESC, id DESC`) to the rows after `before`,
 * the id of a row of the same table and org that ended the previous page. An id of another org
 * or of a row that no longer exists gives an empty page, never rows of another org.
 */
export function olderThan<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  before: string,
  orgId: string,
): SelectQueryBuilder<T> {
  const alias = query.alias;
  const table = query.expressionMap.mainAlias?.metadata.tableName;
  if (table === undefined) throw new Error('olderThan needs a query on an entity');
  return query.andWhere(
    `(${alias}.created_at, ${alias}.id) < (SELECT b.created_at, b.id FROM ${table} b WHERE b.id = :pageBefore AND b.org_id = :pageOrgId)`,
    { pageBefore: before, pageOrgId: orgId },
  );
}

/** The `next` cursor of a page: the last row's id when the page is full, otherwise null. */
export function nextCursor(rows: readonly { id: string }[], pageSize: number): string | null {
  return rows.length === pageSize && rows.length > 0 ? rows[rows.length - 1].id : null;
}
