/**
 * Lantern's synthetic demo deliveries, generated from a seed (the same seed writes the same bytes):
 * the demo catalogue with each dataset's documentation, dictionary and deliveries: demo-arrest-ecg
 * and demo-ed-ecg with ECGs from a dynamical model of the heart, demo-brca-path's H&E whole-slide
 * images drawn tile by tile, and demo-knee-xray's DICOM knee radiographs drawn from anatomy.
 * Their native files can be made by a pool of worker threads, the bytes the same. Node only.
 */
export * from './random.js';
export * from './demo/demo-dataset.js';
export * from './demo/delivery-writer.js';
export * from './demo/delivery-plan.js';
export * from './demo/delivery-generation-error.js';
export * from './pool/synth-pool.js';
export * from './demo/catalogue.js';
export * from './people.js';
export * from './ecg/ecgsyn.js';
export * from './ecg/render-svg.js';
export * from './ecg/npy-as-delivered.js';
export * from './arrest-ecg/cohort.js';
export * from './arrest-ecg/delivery.js';
export * from './brca-path/tissue.js';
export * from './brca-path/cohort.js';
export * from './brca-path/delivery.js';
export * from './brca-path/dataset.js';
export * from './knee-xray/cohort.js';
export * from './knee-xray/radiograph.js';
export * from './knee-xray/delivery.js';
export * from './knee-xray/demo.js';
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
