import { createLanternClient } from '@lantern/sdk';

/** The API client for the page's own origin (the server serves both the app and the API). */
export const api = createLanternClient({ baseUrl: '' });
