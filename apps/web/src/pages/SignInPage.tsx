/** Placeholder until the identity issue: says plainly that accounts are not open yet. */
export function SignInPage() {
  return (
    <section aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p role="status">
        Accounts are not open yet: registration, admission and sign-in come with the identity
        release. Until then this installation serves its status and API only.
      </p>
    </section>
  );
}
