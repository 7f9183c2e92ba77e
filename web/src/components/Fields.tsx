// Small form pieces that several pages share.
import { useState, type ReactNode } from "react";
import { InlineError } from "./States";
import "./Fields.css";

/** The options of a select, from [value, text] pairs. */
export function Options({ choices }: { choices: readonly (readonly [string, string])[] }) {
  return (
    <>
      {choices.map(([value, text]) => (
        <option key={value} value={value}>
          {text}
        </option>
      ))}
    </>
  );
}

/** One text field and its submit button (a new name, a new term): a blank value is not
 * submitted, and the field empties once `onSubmit`'s promise (a mutateAsync) resolves. */
export function OneFieldForm({
  label,
  placeholder,
  button,
  busy,
  onSubmit,
}: {
  /** the field's accessible name */
  label: string;
  placeholder: string;
  button: string;
  busy: boolean;
  onSubmit: (value: string) => Promise<unknown>;
}) {
  const [value, setValue] = useState("");
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        // A failure keeps the value; the caller shows the mutation's error.
        if (value.trim()) onSubmit(value).then(() => setValue(""), () => undefined);
      }}
    >
      <input
        value={value}
        placeholder={placeholder}
        aria-label={label}
        onChange={(event) => setValue(event.target.value)}
      />
      <button type="submit" disabled={!value.trim() || busy}>
        {button}
      </button>
    </form>
  );
}

/** The form under a settings list that adds to it (a task, an embedding): its title, one row
 * of fields ending with the submit button, and the error of the last try. */
export function NewForm({
  title,
  error,
  onSubmit,
  children,
}: {
  title: string;
  error: unknown;
  onSubmit: () => void;
  children: ReactNode;
}) {
  return (
    <form
      className="new-form"
      aria-label={title}
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      <h3>{title}</h3>
      <div className="form-row">{children}</div>
      <InlineError error={error} />
    </form>
  );
}
