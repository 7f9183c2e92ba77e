// Small charts without a chart library: SVG bars and a CSS-grid heat map. Each chart is one
// `role="img"` with a spoken summary (aria-label), and its numbers in a visually hidden table,
// so a screen reader can read them all. Names (labels, annotators) are HTML text beside the
// graphics, so long, right-to-left or CJK names wrap like any text.
import { formatNumber, percent } from "../format";
import "./Charts.css";

export interface Series {
  name: string;
  color: string;
}

export interface BarRow {
  label: string;
  /** one value per series */
  values: number[];
}

export interface Part {
  name: string;
  value: number;
  color: string;
}

type Cell = string | number;

/** The chart's numbers for assistive technology: the first column heads each row. */
function DataTable({ caption, columns, rows }: { caption: string; columns: string[]; rows: Cell[][] }) {
  const show = (cell: Cell) => (typeof cell === "number" ? formatNumber(cell) : cell);
  return (
    <table className="visually-hidden">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th key={i} scope="col">
              {column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i}>
            {row.map((cell, j) =>
              j === 0 ? (
                <th key={j} scope="row">
                  {show(cell)}
                </th>
              ) : (
                <td key={j}>{show(cell)}</td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Legend({ items }: { items: { name: string; color: string; note?: string }[] }) {
  return (
    <ul className="chart-legend" aria-hidden="true">
      {items.map((item, i) => (
        <li key={i}>
          <span className="chart-swatch" style={{ background: item.color }} />
          <span dir="auto">{item.name}</span>
          {item.note && <span className="muted">{item.note}</span>}
        </li>
      ))}
    </ul>
  );
}

/** Horizontal bars, one group per row and one bar per series (e.g. manual vs weak). */
export function BarChart({ title, rows, series }: { title: string; rows: BarRow[]; series: Series[] }) {
  const max = Math.max(1, ...rows.flatMap((row) => row.values));
  const summary = `${title}: ${rows
    .map((row) => `${row.label}: ${series.map((s, i) => `${formatNumber(row.values[i] ?? 0)} ${s.name}`).join(", ")}`)
    .join("; ")}`;
  return (
    <figure className="chart">
      <div role="img" aria-label={summary} className="bar-chart">
        {rows.map((row, i) => (
          <div className="bar-row" key={i}>
            <div className="bar-label" dir="auto" title={row.label}>
              {row.label}
            </div>
            <div className="bar-group">
              {series.map((s, j) => {
                const value = row.values[j] ?? 0;
                return (
                  <div className="bar-line" key={j}>
                    <svg className="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                      <rect width={(100 * value) / max} height={10} fill={s.color}>
                        <title>{`${s.name}: ${formatNumber(value)}`}</title>
                      </rect>
                    </svg>
                    <span className="bar-value">{formatNumber(value)}</span>
                  </div>
                );
              })}
            </div>
          </div>
        ))}
      </div>
      {series.length > 1 && <Legend items={series} />}
      <DataTable
        caption={title}
        columns={["", ...series.map((s) => s.name)]}
        rows={rows.map((row) => [row.label, ...series.map((_, j) => row.values[j] ?? 0)])}
      />
    </figure>
  );
}

const PLOT = { left: 34, right: 284, top: 10, bottom: 122 };

/** Counts in equal bins over [0, 1] (e.g. confidences), as vertical bars. */
export function Histogram({ title, bins, color, unit }: { title: string; bins: number[]; color: string; unit: string }) {
  const max = Math.max(1, ...bins);
  const width = (PLOT.right - PLOT.left) / Math.max(1, bins.length);
  const height = PLOT.bottom - PLOT.top;
  const edge = (i: number) => (i / bins.length).toFixed(1);
  const range = (i: number) => `${edge(i)}–${edge(i + 1)}`;
  const total = bins.reduce((a, b) => a + b, 0);
  const summary = `${title}: ${formatNumber(total)} ${unit}; ${bins
    .map((n, i) => `${range(i)}: ${formatNumber(n)}`)
    .join(", ")}`;
  return (
    <figure className="chart">
      <svg role="img" aria-label={summary} className="histogram" viewBox="0 0 300 140">
        <line x1={PLOT.left} x2={PLOT.right} y1={PLOT.bottom} y2={PLOT.bottom} className="axis" />
        <line x1={PLOT.left} x2={PLOT.left} y1={PLOT.top} y2={PLOT.bottom} className="axis" />
        <text x={PLOT.left - 4} y={PLOT.top + 4} className="tick" textAnchor="end">
          {formatNumber(max)}
        </text>
        <text x={PLOT.left - 4} y={PLOT.bottom} className="tick" textAnchor="end">
          0
        </text>
        {bins.map((n, i) => {
          const h = (height * n) / max;
          return (
            <rect
              key={i}
              x={PLOT.left + i * width + 1}
              y={PLOT.bottom - h}
              width={width - 2}
              height={h}
              fill={color}
            >
              <title>{`${range(i)}: ${formatNumber(n)} ${unit}`}</title>
            </rect>
          );
        })}
        {[0, bins.length / 2, bins.length].map((i) => (
          <text key={i} x={PLOT.left + i * width} y={PLOT.bottom + 13} className="tick" textAnchor="middle">
            {edge(i)}
          </text>
        ))}
      </svg>
      <DataTable
        caption={title}
        columns={["confidence", unit]}
        rows={bins.map((n, i) => [`${edge(i)} to ${edge(i + 1)}`, n])}
      />
    </figure>
  );
}

/** A matrix of counts (rows x columns) shaded by size; the diagonal is outlined. */
export function Heatmap({
  title,
  labels,
  counts,
  rowsName,
  columnsName,
}: {
  title: string;
  labels: string[];
  counts: number[][];
  rowsName: string;
  columnsName: string;
}) {
  const max = Math.max(1, ...counts.flat());
  const summary = `${title}, rows ${rowsName}, columns ${columnsName}: ${labels
    .map((row, i) => `${row}: ${labels.map((column, j) => `${formatNumber(counts[i]?.[j] ?? 0)} ${column}`).join(", ")}`)
    .join("; ")}`;
  return (
    <figure className="chart heatmap-scroll">
      <div
        role="img"
        aria-label={summary}
        className="heatmap"
        style={{ gridTemplateColumns: `minmax(5rem, max-content) repeat(${labels.length}, minmax(3.5rem, 1fr))` }}
      >
        <div className="heatmap-corner">
          <span>{rowsName} ↓</span>
          <span>{columnsName} →</span>
        </div>
        {labels.map((label, j) => (
          <div key={`c${j}`} className="heatmap-head" dir="auto">
            {label}
          </div>
        ))}
        {labels.map((row, i) => [
          <div key={`r${i}`} className="heatmap-head heatmap-row-head" dir="auto">
            {row}
          </div>,
          ...labels.map((column, j) => {
            const n = counts[i]?.[j] ?? 0;
            const share = n / max;
            return (
              <div
                key={`${i}-${j}`}
                className={`heatmap-cell${i === j ? " diagonal" : ""}`}
                style={{
                  background: `rgb(47 93 138 / ${(0.08 + 0.92 * share).toFixed(3)})`,
                  color: share > 0.55 ? "#fff" : "var(--text)",
                }}
                title={`${rowsName} ${row}, ${columnsName} ${column}: ${formatNumber(n)}`}
              >
                {formatNumber(n)}
              </div>
            );
          }),
        ])}
      </div>
      <DataTable
        caption={`${title} (rows: ${rowsName}; columns: ${columnsName})`}
        columns={["", ...labels]}
        rows={labels.map((row, i) => [row, ...labels.map((_, j) => counts[i]?.[j] ?? 0)])}
      />
    </figure>
  );
}

/** Parts of a whole as one stacked bar, with counts and shares in the legend. */
export function StackedBar({ title, parts }: { title: string; parts: Part[] }) {
  const total = parts.reduce((sum, part) => sum + part.value, 0);
  const summary = `${title}: ${parts
    .map((part) => `${formatNumber(part.value)} ${part.name} (${percent(part.value, total)})`)
    .join(", ")}`;
  let offset = 0;
  return (
    <figure className="chart">
      <svg role="img" aria-label={summary} className="stacked-bar" viewBox="0 0 100 8" preserveAspectRatio="none">
        {parts.map((part, i) => {
          const width = total ? (100 * part.value) / total : 0;
          const x = offset;
          offset += width;
          return (
            <rect key={i} x={x} width={width} height={8} fill={part.color}>
              <title>{`${part.name}: ${formatNumber(part.value)}`}</title>
            </rect>
          );
        })}
      </svg>
      <Legend
        items={parts.map((part) => ({
          ...part,
          note: `${formatNumber(part.value)} (${percent(part.value, total)})`,
        }))}
      />
      <DataTable
        caption={title}
        columns={["", "records", "share"]}
        rows={parts.map((part) => [part.name, part.value, percent(part.value, total)])}
      />
    </figure>
  );
}
