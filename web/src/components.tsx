// Small pieces of markup the pages share.

/** A failure's message, announced to screen readers; nothing while there is none. */
export function ErrorNote({ message }: { message: string }) {
  return message ? (
    <p role="alert" class="error">
      {message}
    </p>
  ) : null;
}
