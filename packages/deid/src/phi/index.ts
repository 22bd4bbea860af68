/**
 * The PHI scan of ingest (issue 6, step 5): tables and free text searched for names, record
 * numbers, telephone numbers, e-mails, addresses, SSNs, birth dates, URLs and IP addresses, and
 * the curator's decisions that unblock publication.
 */
export * from './phi-finding.js';
export * from './name-lexicon.js';
export * from './text-detectors.js';
export * from './phi-scanner.js';
