/** A sail over a hull, inline: no emoji font needed on a kiosk or in CI. */
export function Logo() {
  return (
    <svg className="logo" width="22" height="22" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M1 11h14l-2 3H3z" fill="#60a5fa" />
      <path d="M8 1v9H2.5z" fill="#e0f2fe" />
      <path d="M9 3v7h4.5z" fill="#93c5fd" />
    </svg>
  );
}
