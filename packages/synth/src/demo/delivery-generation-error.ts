/**
 * A delivery whose generator failed on one patient, in this thread or in a pool's worker thread:
 * it names the dataset, the delivery and the patient (their index in the cohort and their MRN),
 * and keeps what went wrong as its cause. The delivery it was writing is not left behind.
 */

export interface DeliveryGenerationFailure {
  dataset: string;
  delivery: number;
  /** The patient's index in the cohort (0 is the first). */
  patient: number;
  /** Their medical record number, when the generator had got as far as knowing it. */
  mrn?: string | undefined;
  /** What went wrong (an Error from this thread, or a worker's message and stack). */
  cause: unknown;
}

export class DeliveryGenerationError extends Error {
  readonly dataset: string;
  readonly delivery: number;
  readonly patient: number;
  readonly mrn: string | undefined;

  constructor(failure: DeliveryGenerationFailure) {
    const who = failure.mrn === undefined ? '' : ` (MRN ${failure.mrn})`;
    super(
      `${failure.dataset} delivery ${failure.delivery}: the native files of patient ${failure.patient}${who} failed: ${describeCause(failure.cause)}`,
      { cause: failure.cause },
    );
    this.name = 'DeliveryGenerationError';
    this.dataset = failure.dataset;
    this.delivery = failure.delivery;
    this.patient = failure.patient;
    this.mrn = failure.mrn;
  }
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
