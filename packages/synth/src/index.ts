/**
 * Lantern's synthetic demo deliveries, generated from a seed (the same seed writes the same bytes):
 * the demo catalogue (demo-arrest-ecg, demo-ed-ecg) with each dataset's documentation, dictionary
 * and deliveries, its ECGs from a dynamical model of the heart. Node only.
 */
export * from './random.js';
export * from './demo/demo-dataset.js';
export * from './demo/delivery-writer.js';
export * from './demo/catalogue.js';
export * from './people.js';
export * from './ecg/ecgsyn.js';
export * from './ecg/render-svg.js';
export * from './arrest-ecg/cohort.js';
export * from './arrest-ecg/delivery.js';
export * from './arrest-ecg/arrest-ecg.demo.js';
export {
  ED_ECG_PATIENTS_AT_SCALE_1,
  makeEdCohort,
  maceTropPosOrDeath,
  type EdCohort,
  type EdEcgCorrection,
  type EdEncounter,
  type EdPatient,
} from './ed-ecg/cohort.js';
export * from './ed-ecg/delivery.js';
export * from './ed-ecg/ed-ecg.demo.js';
