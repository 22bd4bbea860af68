/** What Lantern is, for a first-time visitor. */
export function HomePage() {
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">Secure research on de-identified health data</h1>
      <p>
        Lantern holds medical images — ECG waveforms, X-rays, digital pathology slides — each linked
        to a ground-truth patient outcome. Admitted researchers analyse them in notebooks next to
        the data. Nothing is downloaded; only reviewed results leave, and everything anyone does is
        recorded in a tamper-evident log.
      </p>
      <p className="muted">The dataset catalog, registration and projects arrive here next.</p>
    </section>
  );
}
