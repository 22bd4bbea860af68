/**
 * A delivery for the pool's tests whose generator fails on the patients it is told to: a real
 * PatientFilesWriter (a worker thread loads it by its module and name, as it loads the demo's),
 * writing one small file per patient, that throws on a patient marked `throws` and ends its
 * thread on one marked `exits` (as a crash or an out-of-memory would).
 */
import { type DeliveryPlan, type PatientFilesWriter } from '../demo/delivery-plan.js';

export interface FaultyPatient {
  person: { mrn: string };
  fault: 'none' | 'throws' | 'exits';
}

/** `count` patients, those at `faults`' indexes failing as said. */
export function planFaultyDelivery(
  count: number,
  faults: Readonly<Record<number, FaultyPatient['fault']>>,
): DeliveryPlan<FaultyPatient, { bytes: number }> {
  const patients = Array.from({ length: count }, (_, index) => ({
    person: { mrn: String(10_000_000 + index) },
    fault: faults[index] ?? 'none',
  }));
  return {
    dataset: 'demo-faulty',
    delivery: 1,
    documents: [{ path: 'delivery.yaml', data: 'dataset: demo-faulty\n' }],
    patients,
    context: { bytes: 64 },
    studies: count,
    images: count,
  };
}

export const faultyFiles: PatientFilesWriter<FaultyPatient, { bytes: number }> = {
  module: import.meta.url,
  name: 'faultyFiles',
  async write(writer, patient, context) {
    switch (patient.fault) {
      case 'throws':
        throw new RangeError(`no waveform can be drawn for ${patient.person.mrn}`);
      case 'exits':
        process.exit(7);
        break;
      case 'none':
        break;
      default:
        patient.fault satisfies never;
    }
    await writer.native(`files/${patient.person.mrn}.bin`, () =>
      new Uint8Array(context.bytes).fill(Number(patient.person.mrn) % 251),
    );
  },
};
