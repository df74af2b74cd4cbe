import { FloeError } from '../../errors.js';
import type { ArchiveCursor } from '../../hub/archive-cursor.js';
import type { ClusterViews, RunListQuery } from '../../hub/cluster-views.js';
import { END_STATUSES, type EndStatus } from '../../model/run.js';
import type { Query } from '../query.js';

/** The query parameters of a run listing (GET /flows/:id, GET /runs), beside a route's own. */
export const RUN_LIST_PARAMS = ['limit', 'before', 'status'] as const;

/** Archive page size without `?limit=`. */
const ARCHIVE_PAGE = 50;
/** Largest `?limit=` for the archive: a page is read in one go, so it stays small. */
const ARCHIVE_PAGE_MAX = 500;

const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** `?limit=`, `?before=` and `?status=` of a run listing, checked; 400 naming the parameter otherwise. */
export function runListQuery(q: Query, views: ClusterViews): Omit<RunListQuery, 'flow'> {
  const limit = q.int('limit', { min: 1, max: ARCHIVE_PAGE_MAX }) ?? ARCHIVE_PAGE;
  return { limit, before: archiveCursor(q, views), status: statusFilter(q) };
}

/** `?before=`: a previous page's `next`, a cursor string, or (from a host alone) an archive position. */
function archiveCursor(q: Query, views: ClusterViews): ArchiveCursor | undefined {
  const text = q.string('before');
  if (text === undefined) return undefined;
  // What looks like a number keeps the integer checks and messages it always had.
  if (/^[+-]?\d|^\./.test(text)) return views.readCursor(String(q.int('before', COUNT)));
  return views.readCursor(text);
}

/** `?status=bad,cancelled`: archived runs that ended so. */
function statusFilter(q: Query): EndStatus[] | undefined {
  const text = q.string('status');
  if (text === undefined) return undefined;
  const given = text.split(',');
  if (!given.every((s): s is EndStatus => END_STATUSES.includes(s as EndStatus))) {
    const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    throw new FloeError(
      'bad-request',
      `query parameter status must be one or more of ${END_STATUSES.join(', ')}, comma separated, got ${JSON.stringify(shown)}`,
    );
  }
  return [...new Set(given)];
}
