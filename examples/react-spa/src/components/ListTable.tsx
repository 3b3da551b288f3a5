import type { ReactNode } from "react";

/** Attributes a row or a cell may carry besides its content: a test id, data-*, a class, a tooltip. */
type Attributes = { [name: `data-${string}`]: string | undefined; className?: string; title?: string };

/** One column of a ListTable. */
export interface Column<T> {
  /** The header, and each cell's label where the narrow layout stacks the cells (`data-label`). */
  label: string;
  cell: (item: T) => ReactNode;
  attributes?: (item: T) => Attributes;
}

/**
 * What the account holds that signs it in (sessions, passkeys, linked
 * providers), as a `.list` table: a row an item, each cell labelled by its
 * column, and last the row's buttons (ending the session, removing the
 * passkey). The label is the header's words, so the two never disagree.
 */
export default function ListTable<T extends { id: string | number }>({ kind, testid, columns, items, row, actions }: {
  /** The table's class beside `list` ("sessions", "passkeys"). */
  kind: string;
  testid: string;
  columns: Column<T>[];
  items: T[];
  /** The row's own attributes (its test id, its data-*). */
  row: (item: T) => Attributes;
  actions: (item: T) => ReactNode;
}) {
  return (
    <table className={`list ${kind}`} data-testid={testid}>
      <thead>
        <tr>{columns.map((c) => <th key={c.label}>{c.label}</th>)}<th></th></tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.id} {...row(item)}>
            {columns.map((c) => <td key={c.label} data-label={c.label} {...c.attributes?.(item)}>{c.cell(item)}</td>)}
            <td className="actions">{actions(item)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
