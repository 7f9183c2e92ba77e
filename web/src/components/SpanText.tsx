// A text with its tokens and labeled token spans: each span is an underline in its label's
// color, overlapping spans stack in layers (a span keeps its layer along its whole length), so
// every span stays visible. With `onSelect`, a mouse selection (or a click, or Shift+arrows
// when the text has the focus) snaps to the tokens it touches; token spans are [start, end).
import { memo, useEffect, useMemo, useRef, type KeyboardEvent } from "react";
import type { Schemas } from "../api/client";
import "./SpanText.css";

export type Token = Schemas["Token"];

export interface TokenRange {
  /** first token, inclusive */
  start: number;
  /** last token + 1 (exclusive) */
  end: number;
}

export interface TextSpan extends TokenRange {
  /** unique among the spans of this text */
  key: string;
  label: string;
  color: string;
  /** drawn dashed: e.g. another annotator's or a heuristic's span */
  dashed?: boolean;
  /** who gave it, for the tooltip */
  by?: string;
}

const LAYER = 4; // px per underline layer
const FALLBACK_COLOR = "#66707c";

/** A label color as CSS: only hex colors pass (the value is user-provided). */
export function safeColor(color: string): string {
  return /^#[0-9a-f]{3,8}$/i.test(color) ? color : FALLBACK_COLOR;
}

interface Segment {
  start: number; // character offsets in the text
  end: number;
  token: number | null; // token index, null for the text between tokens
  spans: number[]; // indexes into the spans covering it
  selected: boolean;
}

/** Layer per span: the lowest layer free at its start, longer spans first on ties. */
function layers(spans: TextSpan[]): { layer: number[]; count: number } {
  const order = spans
    .map((_, index) => index)
    .sort((a, b) => spans[a]!.start - spans[b]!.start || spans[b]!.end - spans[a]!.end);
  const ends: number[] = [];
  const layer: number[] = new Array<number>(spans.length).fill(0);
  for (const index of order) {
    const span = spans[index]!;
    let free = ends.findIndex((end) => end <= span.start);
    if (free < 0) free = ends.length;
    ends[free] = span.end;
    layer[index] = free;
  }
  return { layer, count: ends.length };
}

function segments(
  text: string,
  tokens: Token[],
  spans: TextSpan[],
  selection: TokenRange | null | undefined,
): Segment[] {
  const byToken: number[][] = tokens.map(() => []);
  spans.forEach((span, index) => {
    for (let t = Math.max(0, span.start); t < Math.min(span.end, tokens.length); t++) {
      byToken[t]!.push(index);
    }
  });
  const inSelection = (t: number) => !!selection && t >= selection.start && t < selection.end;
  const out: Segment[] = [];
  let cursor = 0;
  tokens.forEach((token, t) => {
    if (token.start > cursor) {
      // The gap between two tokens belongs to the spans (and selection) holding both.
      const both = t > 0 ? byToken[t]!.filter((s) => byToken[t - 1]!.includes(s)) : [];
      out.push({
        start: cursor,
        end: token.start,
        token: null,
        spans: both,
        selected: t > 0 && inSelection(t - 1) && inSelection(t),
      });
    }
    out.push({
      start: token.start,
      end: token.end,
      token: t,
      spans: byToken[t]!,
      selected: inSelection(t),
    });
    cursor = Math.max(cursor, token.end);
  });
  if (cursor < text.length) {
    out.push({ start: cursor, end: text.length, token: null, spans: [], selected: false });
  }
  return out;
}

function firstSegment(node: Node, last: boolean): HTMLElement | null {
  if (node instanceof HTMLElement && node.dataset.start !== undefined) return node;
  if (!(node instanceof Element)) return null;
  const all = node.querySelectorAll<HTMLElement>("[data-start]");
  return (last ? all[all.length - 1] : all[0]) ?? null;
}

/** The character offset of a DOM boundary point inside the text's root element. */
function boundaryChar(root: HTMLElement, node: Node, offset: number): number | null {
  const element = node instanceof Element ? node : node.parentElement;
  const segment = element?.closest<HTMLElement>("[data-start]");
  if (segment && root.contains(segment)) {
    const start = Number(segment.dataset.start);
    const end = Number(segment.dataset.end);
    if (node.nodeType === Node.TEXT_NODE) return Math.min(start + offset, end);
    return offset === 0 ? start : end;
  }
  if (!element || !root.contains(element)) return null;
  // A point between children of the root: the next child's start, or the end.
  const next = element.childNodes[offset];
  const found = next ? firstSegment(next, false) : firstSegment(element, true);
  if (!found) return null;
  return next ? Number(found.dataset.start) : Number(found.dataset.end);
}

/** The tokens a DOM range touches (clipped to the text), or null when it touches none. */
function rangeTokens(root: HTMLElement, range: Range, tokens: Token[], length: number) {
  if (!range.intersectsNode(root)) return null;
  const whole = document.createRange();
  whole.selectNodeContents(root);
  const from =
    range.compareBoundaryPoints(Range.START_TO_START, whole) <= 0
      ? 0
      : boundaryChar(root, range.startContainer, range.startOffset);
  const to =
    range.compareBoundaryPoints(Range.END_TO_END, whole) >= 0
      ? length
      : boundaryChar(root, range.endContainer, range.endOffset);
  if (from === null || to === null || to <= from) return null;
  const start = tokens.findIndex((token) => token.end > from);
  let end = -1;
  for (let t = tokens.length - 1; t >= 0; t--) {
    if (tokens[t]!.start < to) {
      end = t + 1;
      break;
    }
  }
  return start >= 0 && end > start ? { start, end } : null;
}

export interface SpanTextProps {
  text: string;
  tokens: Token[];
  spans: TextSpan[];
  /** the pending selection, drawn highlighted */
  selection?: TokenRange | null;
  /** a span drawn highlighted (e.g. hovered in a list) */
  highlight?: string | null;
  /** makes the text selectable: called with the snapped token range (null = cleared) */
  onSelect?: (range: TokenRange | null) => void;
  /** accessible name of the text block */
  name: string;
  className?: string;
}

export const SpanText = memo(function SpanText({
  text,
  tokens,
  spans,
  selection,
  highlight,
  onSelect,
  name,
  className,
}: SpanTextProps) {
  const root = useRef<HTMLDivElement>(null);
  const anchor = useRef<number | null>(null);
  const { layer, count } = useMemo(() => layers(spans), [spans]);
  const parts = useMemo(
    () => segments(text, tokens, spans, selection),
    [text, tokens, spans, selection],
  );
  const pad = count * LAYER;
  const dragging = useRef(false);

  const pick = () => {
    const element = root.current;
    const chosen = window.getSelection();
    if (!onSelect || !element || !chosen || chosen.rangeCount === 0 || chosen.isCollapsed) {
      return false;
    }
    const range = rangeTokens(element, chosen.getRangeAt(0), tokens, text.length);
    if (!range) return false;
    chosen.removeAllRanges(); // the snapped selection is drawn instead
    anchor.current = range.start;
    onSelect(range);
    return true;
  };

  // A drag that starts in the text may end outside it: the document hears that mouseup.
  const latestPick = useRef(pick);
  useEffect(() => {
    latestPick.current = pick;
  });
  useEffect(() => {
    const up = () => {
      if (dragging.current) latestPick.current();
      dragging.current = false;
    };
    document.addEventListener("mouseup", up);
    return () => document.removeEventListener("mouseup", up);
  }, []);

  const click = (target: EventTarget) => {
    if (!onSelect || !(target instanceof HTMLElement)) return;
    const token = target.closest<HTMLElement>("[data-token]")?.dataset.token;
    if (token === undefined) return;
    const t = Number(token);
    anchor.current = t;
    onSelect({ start: t, end: t + 1 });
  };

  const keys = (event: KeyboardEvent<HTMLDivElement>) => {
    if (!onSelect || tokens.length === 0) return;
    if (event.key === "Escape" && selection) {
      onSelect(null);
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      const step = event.key === "ArrowRight" ? 1 : -1;
      let next: TokenRange;
      if (event.shiftKey && selection) {
        // Shift+arrows move the end away from (or back to) the anchor token.
        const fixed = anchor.current ?? selection.start;
        const moving = fixed === selection.start ? selection.end - 1 : selection.start;
        const to = Math.min(tokens.length - 1, Math.max(0, moving + step));
        next = { start: Math.min(fixed, to), end: Math.max(fixed, to) + 1 };
      } else {
        const from = selection ? (step > 0 ? selection.end - 1 : selection.start) : -1;
        const to = Math.min(tokens.length - 1, Math.max(0, selection ? from + step : 0));
        anchor.current = to;
        next = { start: to, end: to + 1 };
      }
      onSelect(next);
      const focus = step > 0 ? next.end - 1 : next.start;
      root.current
        ?.querySelector(`[data-token="${focus}"]`)
        ?.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else {
      return;
    }
    // Arrows inside the text move the selection, not to another record.
    event.preventDefault();
    event.stopPropagation();
  };

  return (
    <div
      ref={root}
      className={`span-text${onSelect ? " selectable" : ""}${className ? ` ${className}` : ""}`}
      dir="auto"
      role="group"
      aria-label={name}
      tabIndex={onSelect ? 0 : undefined}
      data-testid="span-text"
      style={{ lineHeight: `calc(1.7em + ${pad}px)` }}
      onMouseDown={() => {
        dragging.current = true;
      }}
      onMouseUp={(event) => {
        dragging.current = false;
        if (!pick()) click(event.target);
      }}
      onKeyDown={keys}
    >
      {parts.map((part) => {
        const covering = part.spans.map((index) => spans[index]!);
        const bars = part.spans.map((index) => {
          const span = spans[index]!;
          const color = safeColor(span.color);
          const y = (count - 1 - layer[index]!) * LAYER;
          return {
            image: span.dashed
              ? `repeating-linear-gradient(to right, ${color} 0 4px, transparent 4px 7px)`
              : `linear-gradient(${color}, ${color})`,
            position: `0 calc(100% - ${y}px)`,
          };
        });
        const lit = highlight ? covering.find((span) => span.key === highlight) : undefined;
        const classes = [
          "st-seg",
          part.token !== null ? "st-token" : "st-gap",
          part.selected ? "st-selected" : "",
          covering.length ? "st-spanned" : "",
        ].join(" ");
        return (
          <span
            key={`${part.start}-${part.token ?? "gap"}`}
            className={classes}
            data-start={part.start}
            data-end={part.end}
            data-token={part.token ?? undefined}
            data-spans={covering.length ? covering.map((span) => span.label).join(" ") : undefined}
            title={
              covering.length && part.token !== null
                ? covering
                    .map((span) => (span.by ? `${span.label} (${span.by})` : span.label))
                    .join("\n")
                : undefined
            }
            style={
              bars.length || lit || pad
                ? {
                    paddingBottom: pad || undefined,
                    backgroundImage: bars.map((bar) => bar.image).join(", ") || undefined,
                    backgroundPosition: bars.map((bar) => bar.position).join(", ") || undefined,
                    backgroundColor: lit
                      ? `color-mix(in srgb, ${safeColor(lit.color)} 28%, transparent)`
                      : undefined,
                  }
                : undefined
            }
          >
            {text.slice(part.start, part.end)}
          </span>
        );
      })}
    </div>
  );
});
