// The typed API client: paths and bodies come from openapi.json (npm run gen:api), so a
// change of the API that the UI does not follow fails `tsc`.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ProjectSummary = Schemas["ProjectSummary"];
export type Project = Schemas["ProjectPublic"];
export type Task = Schemas["TaskPublic"];
export type Label = Schemas["LabelPublic"];
export type Attribute = Schemas["AttributePublic"];
export type RecordRow = Schemas["RecordPublic"];
export type RecordPage = Schemas["RecordPage"];
export type RecordDetail = Schemas["RecordDetail"];
export type TaskLabels = Schemas["TaskLabels"];
export type Annotation = Schemas["AnnotationPublic"];
export type Slice = Schemas["SlicePublic"];
export type Job = Schemas["JobPublic"];
export type FilePreview = Schemas["FilePreview"];

/** Sent with every API call: the server's door refuses a change (POST, PUT, PATCH, DELETE)
 * that carries neither the page's own Origin nor this header (docs/configuration.md). */
const CLIENT_HEADERS = { "X-Assay-Client": "web" } as const;

export const api = createClient<paths>({ baseUrl: "", headers: CLIENT_HEADERS });

/** An error answered by the API (its one error shape), or a network failure. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly detail: unknown = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The readable message of anything thrown: the one place errors become text. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

function toApiError(body: unknown, response: Response): ApiError {
  const shaped = (body as { error?: { code?: string; message?: string; detail?: unknown } })?.error;
  if (shaped?.message) {
    return new ApiError(shaped.message, response.status, shaped.code ?? "error", shaped.detail);
  }
  return new ApiError(
    `${response.status} ${response.statusText || "error"} from ${new URL(response.url).pathname}`,
    response.status,
    "http_error",
  );
}

/** The data of an openapi-fetch call, or an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new ApiError(`the server did not answer (${errorMessage(error)})`, 0, "network");
  }
  if (!result.response.ok) throw toApiError(result.error, result.response);
  return result.data as T;
}

/** A multipart upload (openapi-fetch sends JSON bodies; uploads go through fetch). */
export async function upload<T>(url: string, form: FormData): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", body: form, headers: CLIENT_HEADERS });
  } catch (error) {
    throw new ApiError(`the server did not answer (${errorMessage(error)})`, 0, "network");
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw toApiError(body, response);
  return body as T;
}

export const enc = encodeURIComponent;
