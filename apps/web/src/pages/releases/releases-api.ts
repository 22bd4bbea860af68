import type { ReleaseState } from '@lantern/core/releases';
import { toApiError, type components } from '@lantern/sdk';
import { api } from '../../api.js';

/**
 * The airlock's API calls, made through the SDK's raw client: typed by the schema generated from
 * the server's OpenAPI document, so nothing here is written twice. The SDK's client has no
 * release methods yet (airlock-server regenerated the schema only); once it has, these calls move
 * there and the pages call `api` as the others do.
 */

export type Release = components['schemas']['Release'];
export type ReleasePage = components['schemas']['ReleasePage'];
export type ReleaseSummary = ReleasePage['releases'][number];
export type ReleaseFile = Release['files'][number];
export type ReleasePreview = components['schemas']['ReleasePreview'];

/** The body of a success, or the server's problem thrown as an ApiError. */
function bodyOf<TBody>(answer: { data?: TBody; error?: unknown; response: Response }): TBody {
  if (answer.data === undefined) {
    throw toApiError(answer.response, answer.error);
  }
  return answer.data;
}

const cursorQuery = (cursor: string | undefined) => (cursor === undefined ? {} : { cursor });

/** A page of the project's requests, newest first (members). */
export async function listProjectReleases(
  projectId: string,
  cursor?: string,
): Promise<ReleasePage> {
  return bodyOf(
    await api.raw.GET('/api/v1/projects/{id}/releases', {
      params: { path: { id: projectId }, query: cursorQuery(cursor) },
    }),
  );
}

/**
 * A page of the requests of every project in `state` (reviewers): pending ones oldest first, as a
 * queue is worked through; decided ones newest first.
 */
export async function listReleaseQueue(state: ReleaseState, cursor?: string): Promise<ReleasePage> {
  return bodyOf(
    await api.raw.GET('/api/v1/releases', {
      params: { query: { state, ...cursorQuery(cursor) } },
    }),
  );
}

/** One request, with what the caller may do with it. */
export async function getRelease(id: string): Promise<Release> {
  return bodyOf(await api.raw.GET('/api/v1/releases/{id}', { params: { path: { id } } }));
}

/** What a file of the request holds, as far as it can be shown. */
export async function previewReleaseFile(id: string, fileId: string): Promise<ReleasePreview> {
  return bodyOf(
    await api.raw.GET('/api/v1/releases/{id}/files/{fileId}/preview', {
      params: { path: { id, fileId } },
    }),
  );
}

/** A reviewer's decision, with its reason; the request as it is after it. */
export async function decideRelease(
  id: string,
  decision: { approved: boolean; reason: string },
): Promise<Release> {
  return bodyOf(
    await api.raw.POST('/api/v1/releases/{id}/decision', {
      params: { path: { id } },
      body: decision,
    }),
  );
}

/** Withdraws a pending request (its requester or an owner); the request as it is after it. */
export async function withdrawRelease(id: string): Promise<Release> {
  return bodyOf(await api.raw.POST('/api/v1/releases/{id}/withdraw', { params: { path: { id } } }));
}

const filePath = (id: string, fileId: string, what: 'image' | 'content') =>
  `/api/v1/releases/${encodeURIComponent(id)}/files/${encodeURIComponent(fileId)}/${what}`;

/** Where a PNG or JPEG file of a request is shown from (an `<img>`'s source). */
export const releaseFileImagePath = (id: string, fileId: string) => filePath(id, fileId, 'image');

/** Where an approved file is downloaded from (the server sends it as an attachment). */
export const releaseFileContentPath = (id: string, fileId: string) =>
  filePath(id, fileId, 'content');
