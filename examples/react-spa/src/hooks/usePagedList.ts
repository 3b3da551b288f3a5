import { useState, type DependencyList } from "react";
import type { OnAuthLost } from "../api/client";
import { useLoad, type Loaded } from "./useLoad";

/** How many rows a list page asks for. */
export const PER_PAGE = 20;

/** The paging fields every list answer of the API carries. */
interface Page {
  total: number;
  per_page: number;
}

/** Where a paged list is, and the moves to another page. */
export interface Paging {
  /** 1-based. */
  page: number;
  /** At least 1: an empty list, or one not loaded yet, is one page. */
  pages: number;
  /** Goes to `page`: 1 after the filter or the search changed. */
  setPage: (page: number) => void;
  previous: () => void;
  next: () => void;
}

export interface PagedList<T extends Page> extends Loaded<T>, Paging {}

/**
 * A list the API answers a page at a time (`?page=&per_page=`): `load`
 * fetches the page it is given, again whenever the page or `deps` (a
 * filter, a search) change. The page shown stays until the next one is in.
 */
export function usePagedList<T extends Page>(
  load: (query: { page: number; per_page: number }) => Promise<T>,
  deps: DependencyList,
  onAuthLost: OnAuthLost,
): PagedList<T> {
  const [page, setPage] = useState(1);
  const list = useLoad(() => load({ page, per_page: PER_PAGE }), [page, ...deps], onAuthLost);
  const pages = list.data ? Math.max(1, Math.ceil(list.data.total / list.data.per_page)) : 1;
  return {
    ...list,
    page,
    pages,
    setPage,
    previous: () => setPage(page - 1),
    next: () => setPage(page + 1),
  };
}
