// The head of a panel that can be closed (an editor, a side panel): its title and a ×.
export function ClosingHead({
  title,
  level = 2,
  close = "Close",
  onClose,
}: {
  title: string;
  /** the heading's level: 2 (a panel of the page) or 3 (inside a panel) */
  level?: 2 | 3;
  /** the × button's accessible name */
  close?: string;
  onClose: () => void;
}) {
  const Heading = level === 3 ? "h3" : "h2";
  return (
    <div className="section-head">
      <Heading>{title}</Heading>
      <button type="button" className="icon" aria-label={close} onClick={onClose}>
        ×
      </button>
    </div>
  );
}
