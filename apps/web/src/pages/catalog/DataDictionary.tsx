import type { DatasetVersion } from '@lantern/sdk';
import { useState } from 'react';

type SortKey = 'position' | 'name' | 'type';
type Row = {
  position: number;
  name: string;
  type: string;
  nullable: boolean;
  key: string;
  description: string;
  example: string;
  unit: string;
  allowed: string;
  deidentification: string;
};

function rowsOf(
  version: DatasetVersion,
  table: DatasetVersion['snapshot']['tables'][number],
): Row[] {
  const described = version.dictionary.tables.find((t) => t.name === table.name);
  return table.columns.map((column, position) => {
    const entry = described?.columns.find((c) => c.name === column.name);
    const keys = [
      table.primaryKey.includes(column.name) ? 'PK' : '',
      table.foreignKeys.some((k) => k.columns.includes(column.name)) ? 'FK' : '',
    ].filter((k) => k !== '');
    const method = entry?.deidentification;
    return {
      position,
      name: column.name,
      type: column.type,
      nullable: column.nullable,
      key: keys.join(', '),
      description: entry?.description ?? '',
      example: entry?.example ?? '',
      unit: entry?.unit ?? '',
      allowed: entry?.allowedValues?.join(', ') ?? '',
      deidentification:
        method === undefined
          ? ''
          : method.note === undefined || method.note === ''
            ? method.method
            : `${method.method}: ${method.note}`,
    };
  });
}

/**
 * The data dictionary of a version: per table its file, row count and columns (as read from the
 * file, with what the curators wrote of each), searchable across tables and sortable by column.
 */
export function DataDictionary({ version }: { version: DatasetVersion }) {
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({
    key: 'position',
    descending: false,
  });
  const needle = search.trim().toLowerCase();
  const handleSort = (key: SortKey) => {
    setSort((was) => ({ key, descending: was.key === key ? !was.descending : false }));
  };
  const header = (key: SortKey, label: string) => (
    <th
      scope="col"
      aria-sort={sort.key === key ? (sort.descending ? 'descending' : 'ascending') : undefined}
    >
      <button type="button" className="link" onClick={() => handleSort(key)}>
        {label}
      </button>
    </th>
  );
  if (version.snapshot.tables.length === 0) {
    return <p>This version has no tables yet.</p>;
  }
  return (
    <div data-testid="dictionary">
      <label className="search">
        Search columns and descriptions
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      {version.snapshot.tables.map((table) => {
        const rows = rowsOf(version, table)
          .filter(
            (row) =>
              needle === '' ||
              `${row.name} ${row.description} ${row.allowed}`.toLowerCase().includes(needle),
          )
          .sort((a, b) => {
            const order =
              sort.key === 'position'
                ? a.position - b.position
                : a[sort.key].localeCompare(b[sort.key]) || a.position - b.position;
            return sort.descending ? -order : order;
          });
        const description = version.dictionary.tables.find((t) => t.name === table.name);
        return (
          <section key={table.name} aria-labelledby={`table-${table.name}`} className="dict-table">
            <h3 id={`table-${table.name}`}>{table.name}</h3>
            <p className="muted">
              <code>{table.file}</code> · {table.rowCount.toLocaleString('en')}{' '}
              {table.rowCount === 1 ? 'row' : 'rows'} · {table.columns.length}{' '}
              {table.columns.length === 1 ? 'column' : 'columns'}
            </p>
            {description !== undefined && description.description !== '' && (
              <p>{description.description}</p>
            )}
            {rows.length === 0 ? (
              <p className="muted">No column matches.</p>
            ) : (
              <div className="scroll">
                <table className="checks dictionary">
                  <thead>
                    <tr>
                      {header('position', '#')}
                      {header('name', 'Column')}
                      <th scope="col">Description</th>
                      {header('type', 'Type')}
                      <th scope="col">Example</th>
                      <th scope="col">Unit</th>
                      <th scope="col">Allowed values</th>
                      <th scope="col">De-identification</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row) => (
                      <tr key={row.name}>
                        <td>{row.position + 1}</td>
                        <th scope="row">
                          <code>{row.name}</code>
                          {row.key !== '' && <span className="key"> {row.key}</span>}
                        </th>
                        <td>
                          {row.description === '' ? (
                            <span className="warn">undocumented</span>
                          ) : (
                            row.description
                          )}
                        </td>
                        <td>
                          {row.type}
                          {row.nullable && <span className="muted">, may be empty</span>}
                        </td>
                        <td>{row.example}</td>
                        <td>{row.unit}</td>
                        <td>{row.allowed}</td>
                        <td>{row.deidentification}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        );
      })}
    </div>
  );
}
