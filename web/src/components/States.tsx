// Loading, empty and error states: every view shows one of them or its content.
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { errorMessage } from "../api/client";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

/** An empty view says why it is empty and what to do next. */
export function Empty({
  title,
  why,
  children,
}: {
  title: string;
  why: ReactNode;
  children?: ReactNode;
}) {
  return (
    <div className="state state-empty" data-testid="empty">
      <h3>{title}</h3>
      <p>{why}</p>
      {children && <div className="state-actions">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="state state-error" role="alert" data-testid="error">
      <h3>Something went wrong</h3>
      <p>{errorMessage(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A query's loading and error states, else its content. */
export function QueryView<T>({
  query,
  what,
  children,
}: {
  query: UseQueryResult<T>;
  what?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}

export function InlineError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="inline-error" role="alert">
      {errorMessage(error)}
    </p>
  );
}

/** A query's list as a table: its loading and error states, then a row per item; nothing
 * while the list is empty (the caller says why, or not). */
export function QueryTable<T>({
  query,
  what,
  testId,
  columns,
  numeric = [],
  children,
}: {
  query: UseQueryResult<T[]>;
  what: string;
  testId: string;
  /** the columns' headers, and those of them that hold numbers (aligned right) */
  columns: string[];
  numeric?: string[];
  /** the rows */
  children: (items: T[]) => ReactNode;
}) {
  return (
    <>
      {query.isPending && <Loading what={what} />}
      <InlineError error={query.error} />
      {query.data && query.data.length > 0 && (
        <table className="table" data-testid={testId}>
          <thead>
            <tr>
              {columns.map((column, i) => (
                <th key={i} className={numeric.includes(column) ? "num" : undefined}>
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>{children(query.data)}</tbody>
        </table>
      )}
    </>
  );
}
