/**
 * Burned-in annotation (PS3.3 C.7.6.1.1.3; PS3.15 E.3.1, the Clean Pixel Data Option this profile
 * does not apply): text drawn into the pixels escapes every header rule, so an image that says it
 * carries some (Burned In Annotation YES), or that shows a recognizable face (Recognizable Visual
 * Features YES), or that does not say and is of a kind that usually does (ultrasound, secondary
 * capture, scanned documents, photographs), is held for a curator's review instead of published.
 */
import { TAG, type DicomDataset } from '@lantern/formats';

/** Why an image is kept out of the published version until a curator reviews it. */
export interface DicomHold {
  readonly reason: string;
}

const RECOGNIZABLE_VISUAL_FEATURES = 0x00280302;

/** Modalities (PS3.3 C.7.3.1.1.1) whose images usually carry burned-in text or a face. */
const MODALITIES_WITH_BURNED_IN_TEXT: ReadonlyMap<string, string> = new Map([
  ['US', 'ultrasound'],
  ['OT', 'other (secondary capture)'],
  ['SC', 'secondary capture'],
  ['DOC', 'document'],
  ['XC', 'external-camera photography'],
]);

/** SOP classes (PS3.4 B.5) whose images usually carry burned-in text, by UID prefix. */
const SOP_CLASSES_WITH_BURNED_IN_TEXT: readonly (readonly [string, string])[] = [
  ['1.2.840.10008.5.1.4.1.1.7', 'Secondary Capture'],
  ['1.2.840.10008.5.1.4.1.1.6.', 'Ultrasound'],
  ['1.2.840.10008.5.1.4.1.1.3.1', 'Ultrasound Multi-frame'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'Encapsulated Document'],
  ['1.2.840.10008.5.1.4.1.1.77.1.4', 'VL Photographic'],
];

function sopClassLabel(uid: string | null): string | null {
  if (uid === null) {
    return null;
  }
  for (const [prefix, label] of SOP_CLASSES_WITH_BURNED_IN_TEXT) {
    if (uid === prefix || uid.startsWith(prefix.endsWith('.') ? prefix : `${prefix}.`)) {
      return label;
    }
  }
  return null;
}

/** The hold an image needs before publication, or null when it needs none. */
export function burnedInHold(dataset: DicomDataset): DicomHold | null {
  const burnedIn = dataset.string(TAG.BurnedInAnnotation)?.toUpperCase() ?? null;
  if (burnedIn === 'YES') {
    return { reason: 'Burned In Annotation is YES: text in the pixels may identify the patient' };
  }
  if (dataset.string(RECOGNIZABLE_VISUAL_FEATURES)?.toUpperCase() === 'YES') {
    return { reason: 'Recognizable Visual Features is YES: the image may show the patient' };
  }
  if (burnedIn !== null) {
    return null;
  }
  const modality = dataset.string(TAG.Modality)?.toUpperCase() ?? '';
  const modalityLabel = MODALITIES_WITH_BURNED_IN_TEXT.get(modality);
  if (modalityLabel !== undefined) {
    return {
      reason: `Burned In Annotation is absent and the modality ${modality} (${modalityLabel}) usually carries burned-in text`,
    };
  }
  const sopLabel = sopClassLabel(dataset.string(TAG.SOPClassUID));
  if (sopLabel !== null) {
    return {
      reason: `Burned In Annotation is absent and the SOP class (${sopLabel}) usually carries burned-in text`,
    };
  }
  return null;
}
